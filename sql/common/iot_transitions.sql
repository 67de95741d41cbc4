-- Connected-device state transitions (scoring.md §2): which event of which system opens or
-- closes which state, and the element the state counts for. States: offline→online,
-- fault→restore, shield→unshield on auto_alarm devices (element CI1); pressure_low→restore on
-- sprinkler and hydrant devices (element CI2); a restore closes both fault and pressure_low.
-- States and elements are numbered (offline 1, fault 2, shield 3, pressure 4; CI1 1, CI2 2):
-- every event is sorted by them, and small numbers sort faster than names (decision 119).
-- `opening` names the event that opens the row's state. Inputs: none.
SELECT event, system, CAST(state AS TINYINT) AS state, CAST(element AS TINYINT) AS element,
       CAST(closes AS TINYINT) AS closes, opening
FROM (VALUES ('offline', 'auto_alarm', 1, 1, 0, 'offline'), ('online', 'auto_alarm', 1, 1, 1, 'offline'),
             ('fault', 'auto_alarm', 2, 1, 0, 'fault'), ('restore', 'auto_alarm', 2, 1, 1, 'fault'),
             ('shield', 'auto_alarm', 3, 1, 0, 'shield'), ('unshield', 'auto_alarm', 3, 1, 1, 'shield'),
             ('pressure_low', 'sprinkler', 4, 2, 0, 'pressure_low'),
             ('restore', 'sprinkler', 4, 2, 1, 'pressure_low'),
             ('pressure_low', 'hydrant', 4, 2, 0, 'pressure_low'),
             ('restore', 'hydrant', 4, 2, 1, 'pressure_low'))
     AS t (event, system, state, element, closes, opening)
