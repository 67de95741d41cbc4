#!/usr/bin/env python3
"""Writes the golden cases of high fire-risk areas (scoring.md §4). Every expected value below is
worked out by hand in the comments (sub-score = 100 (r - 1) / (G - 1), r the average rank;
only the final divisions are left to Python); rerun after changing a case:
python3 tests/golden/area_cases.py

The inboxes have no fire tied to a unit, so the risk model is constant and every grid ties on
s_risk; the other sub-scores are driven by grid-level fires and complaints, direct-hazard
violations (V111: major hazard and 800 points, grade C) and a veto (V119: grade D).
"""
import os, shutil, json
from golden_io import write_csv as w
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'area')
UH = 'unit_id,name,grid_id,district_code,use_type,key_unit,crowded_place,status'
IH = 'incident_id,unit_id,grid_id,occurred_at,kind,deaths,injuries,direct_loss_yuan,unit_responsible'
VH = 'violation_id,inspection_id,unit_id,code,found_on,rectify_due,rectified_on'
AH = 'grid_id,open_units,s_risk,s_fires,s_hazards,s_complaints,s_grades,area_index,level,drivers'


class Case:
    def __init__(self, name):
        self.d = os.path.join(ROOT, name)
        shutil.rmtree(self.d, ignore_errors=True)
        os.makedirs(self.d)
        open(self.d + '/as_of', 'w').write('2026-06-30\n')
        self.units, self.fires, self.complaints, self.violations = [], [], [], []

    def unit(self, uid, grid, status='open'):
        self.units.append((uid, 'unit ' + uid, grid, '440106', 'office', 'false', 'false', status))

    def fire(self, grid, day, kind='fire'):
        n = len(self.fires) + 1
        self.fires.append((f'F{n}', '', grid, day + 'T10:00:00+08:00', kind, 0, 0, 0, 'false'))

    def complaint(self, grid, day, verified=True):
        n = len(self.complaints) + 1
        self.complaints.append({'complaint_id': f'C{n}', 'unit_id': None, 'grid_id': grid,
                                'received_at': day + 'T09:00:00+08:00', 'channel': '96119',
                                'category': 'blocked exit', 'verified': verified,
                                'reporter_phone': None})

    def violation(self, unit, code):
        n = len(self.violations) + 1
        self.violations.append((f'V{n}', f'I{n}', unit, code, '2026-06-01', '2026-06-20', ''))

    def write(self, expected):
        d = self.d + '/inbox'
        w(d + '/units/units.csv', UH, self.units)
        if self.fires:
            w(d + '/incidents/incidents.csv', IH, self.fires)
        if self.violations:
            w(d + '/violations/violations.csv', VH, self.violations)
        if self.complaints:
            os.makedirs(d + '/complaints', exist_ok=True)
            with open(d + '/complaints/complaints.ndjson', 'w') as f:
                for c in self.complaints:
                    f.write(json.dumps(c, ensure_ascii=False) + '\n')
        w(self.d + '/high_risk_areas.csv', AH, expected)


def row(grid, units, ws, scale, level, drivers):
    """ws = W x (r2 - 2) per sub-score (r2 = twice the average rank); scale = 2 (G - 1)."""
    weights = (30, 25, 20, 15, 10)
    subs = [wi * 100.0 / (W * scale) for wi, W in zip(ws, weights)]
    return (grid, units, *subs, sum(ws) / scale, level, ';'.join(drivers))


# 01: average ranks of ties and the fire smoothing. G = 4, scale 6.
c = Case('01_ties_and_smoothing')
for g, n in [('G1', 2), ('G2', 2), ('G3', 2), ('G4', 4)]:
    for j in range(n):
        c.unit(f'{g}U{j}', g)
c.unit('G1X', 'G1', status='closed')          # closed: not counted
c.fire('G1', '2024-01-15')                     # G1: 1 / (2 + 20) = 0.0455
c.fire('G4', '2024-01-15'); c.fire('G4', '2024-02-15')   # G4: 2 / (4 + 20) = 0.0833
c.fire('G4', '2023-06-01')                     # 1125 days before as_of: out of the window
c.fire('G3', '2025-01-01', kind='false_alarm') # not a fire
c.fire('G9', '2025-01-01')                     # a grid without open units: ignored
c.complaint('G2', '2026-03-01')                # G2: 1 verified / 2 units
c.complaint('G2', '2026-03-02', verified=False)
c.complaint('G3', '2025-05-01')                # 425 days before: out of the window
c.violation('G4U0', 'V119')                    # veto: grade D, G4 C/D share 1/4
# Ranks (r2 = 2 x average rank):
#   risk: all tie, r = 2.5, r2 = 5 -> w = 30 x 3 = 90 for every grid
#   fires: G2 = G3 = 0 (r 1.5, r2 3), G1 (r2 6), G4 (r2 8)
#   hazards: all 0 -> r2 5 -> w 60
#   complaints: G1 = G3 = G4 = 0 (r 2, r2 4), G2 (r2 8)
#   grades: G1 = G2 = G3 = 0 (r2 4), G4 (r2 8)
c.write([
    row('G1', 2, (90, 25 * 4, 60, 15 * 2, 10 * 2), 6, 'III', ['s_fires', 's_risk']),       # 300/6 = 50
    row('G2', 2, (90, 25 * 1, 60, 15 * 6, 10 * 2), 6, 'III', ['s_risk', 's_complaints']),  # 285/6 = 47.5, tie 90/90: table order
    row('G3', 2, (90, 25 * 1, 60, 15 * 2, 10 * 2), 6, 'III', ['s_risk', 's_hazards']),     # 225/6 = 37.5
    row('G4', 4, (90, 25 * 6, 60, 15 * 2, 10 * 6), 6, 'II', ['s_fires', 's_risk']),        # 390/6 = 65: exactly II
])

# 02: a lone grid gets 100 everywhere.
c = Case('02_lone_grid')
c.unit('U1', 'G1'); c.unit('U2', 'G1')
c.write([('G1', 2, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 'I', 's_risk;s_fires')])

# 03: the level cut-offs. G = 5, scale 8; grid k has 4 open units, k - 1 of them with a
# direct hazard (V111, grade C), k - 1 fires and k - 1 verified complaints, so it ranks k on
# fires, hazards, complaints and grades (r2 = 2k) and ties on risk (r2 = 6, w = 120):
# total = 120 + (25 + 20 + 15 + 10) x (2k - 2) = 120 + 140 (k - 1); index 15, 32.5, 50, 67.5, 85.
c = Case('03_levels')
for k in range(1, 6):
    g = f'G{k}'
    for j in range(4):
        c.unit(f'{g}U{j}', g)
    for j in range(k - 1):
        c.violation(f'{g}U{j}', 'V111')
        c.fire(g, f'2024-0{j + 1}-15')
        c.complaint(g, f'2026-0{j + 1}-10')
c.unit('G5X', 'G5', status='closed')
levels = {1: 'IV', 2: 'III', 3: 'III', 4: 'II', 5: 'I'}
drivers = {1: ['s_risk', 's_fires'], 2: ['s_risk', 's_fires'], 3: ['s_risk', 's_fires'],
           4: ['s_fires', 's_risk'], 5: ['s_fires', 's_hazards']}
c.write([row(f'G{k}', 4, (120, 25 * (2 * k - 2), 20 * (2 * k - 2), 15 * (2 * k - 2), 10 * (2 * k - 2)),
             8, levels[k], drivers[k]) for k in range(1, 6)])
