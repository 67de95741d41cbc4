#!/usr/bin/env python3
"""Writes the golden cases of the inspection plan (scoring.md §5). The eligibility, strata,
counts, exclusions and outcomes are decided by hand in the comments below; only the SHA-256
draw numbers are computed (u = the float nearest (n + 0.5) / 2^64, key = ln(u) / weight), since
they decide the order. Rerun after changing a case: python3 tests/golden/plan_cases.py

The inboxes have no fire tied to a unit: the risk model is constant, every open unit ties at
the top and is risk level 4 (factor 2); every unit is graded A (factor 0.5), so weight = 1.0.
"""
import hashlib, math, os, shutil
from fractions import Fraction
from golden_io import write_csv as w
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'plan')
AS_OF = '2026-06-30'
UH = 'unit_id,name,grid_id,district_code,use_type,key_unit,crowded_place,status'
IH = 'inspection_id,unit_id,inspected_on,kind,inspector_ids,outcome'
PH = 'inspector_id,name,district_code,active,conflict_unit_ids'
OUT = 'unit_id,district_code,stratum,weight,u,draw_key,status,reason,inspector_1,inspector_2,seed'


def u(text):
    n = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], 'big')
    return float(Fraction(2 * n + 1, 2 ** 65))


class Case:
    def __init__(self, name, args=()):
        self.d = os.path.join(ROOT, name)
        shutil.rmtree(self.d, ignore_errors=True)
        os.makedirs(self.d)
        open(self.d + '/as_of', 'w').write(AS_OF + '\n')
        if args:
            open(self.d + '/args', 'w').write('\n'.join(args) + '\n')
        self.units, self.inspections, self.inspectors = [], [], []

    def unit(self, uid, district='440106', use='office', key=False, crowded=False, status='open'):
        self.units.append((uid, 'unit ' + uid, 'G' + district, district, use,
                           str(key).lower(), str(crowded).lower(), status))

    def inspection(self, unit, day, kind, inspectors='P9'):
        n = len(self.inspections) + 1
        self.inspections.append((f'I{n}', unit, day, kind, inspectors, 'pass'))

    def inspector(self, pid, district='440106', active=True, conflicts=''):
        self.inspectors.append((pid, 'officer ' + pid, district, str(active).lower(), conflicts))

    def write(self, rows):
        d = self.d + '/inbox'
        w(d + '/units/units.csv', UH, self.units)
        if self.inspections:
            w(d + '/inspections/inspections.csv', IH, self.inspections)
        if self.inspectors:
            w(d + '/inspectors/inspectors.csv', PH, self.inspectors)
        w(self.d + '/inspection_plan.csv', OUT, rows)


def drawn(units, n, stratum, seed=AS_OF, weight=1.0):
    """The n units with the largest key ln(u)/weight (ties: smaller unit_id)."""
    keyed = sorted(((math.log(u(f'{seed}:{x}')) / weight, x) for x in units),
                   key=lambda t: (-t[0], t[1]))
    return [(x, stratum, key) for key, x in keyed[:n]]


def row(unit, district, stratum, key, status, reason='', p1='', p2='', seed=AS_OF, weight=1.0):
    return (unit, district, stratum, weight, u(f'{seed}:{unit}'), key, status, reason, p1, p2, seed)


def by_u(unit, inspectors, seed=AS_OF):
    """Inspectors by descending u (ties: smaller id)."""
    return sorted(inspectors, key=lambda p: (-u(f'{seed}:{unit}:{p}'), p))


# 01: eligibility windows and ceil counts. No inspectors at all: every drawn unit is
# unassigned with `no_inspectors` (listed, never dropped).
c = Case('01_eligibility_and_counts')
s3 = [f'N{i}' for i in range(1, 8)]                  # 7 eligible others: ceil(7 x 20% / 12) = 1
for x in s3:
    c.unit(x)
c.inspection('N2', '2026-06-20', 'complaint')       # not random: still eligible
c.inspection('N3', '2026-01-01', 'random')          # 180 days before: outside (as_of - 180, as_of]
c.unit('X1'); c.inspection('X1', '2026-01-02', 'random')   # 179 days: ineligible
c.unit('X2'); c.inspection('X2', '2025-09-01', 'random'); c.inspection('X2', '2025-11-01', 'random')  # two in 365 days
c.unit('X3', status='closed')                        # closed: never planned
s1 = ['K1', 'K2', 'K3']                              # key + crowded: ceil(3 x 100% / 12) = 1
for x in s1:
    c.unit(x, key=True, crowded=True)
s2 = ['M1', 'M2']                                    # key only: ceil(2 x 80% / 12) = 1
for x in s2:
    c.unit(x, key=True)
sel = drawn(s1, 1, 'S1') + drawn(s2, 1, 'S2') + drawn(s3, 1, 'S3')
sel.sort(key=lambda t: (-t[2], t[0]))
c.write([row(x, '440106', s, k, 'unassigned', 'no_inspectors') for x, s, k in sel])

# 02: a campaign sub-stratum, with its own seed: `--campaign hotel=1.5 --seed spring-2026`.
# Others: 5 hotels -> S3:hotel, ceil(5 x 20% x 1.5 / 12) = ceil(0.125) = 1; 61 other units ->
# S3, ceil(61 x 20% / 12) = ceil(1.0167) = 2. Key units: one hotel -> S2:hotel,
# ceil(1 x 80% x 1.5 / 12) = 1.
SEED = 'spring-2026'
c = Case('02_campaign', ['--campaign', 'hotel=1.5', '--seed', SEED])
hotels = [f'H{i}' for i in range(1, 6)]
others = [f'O{i:02d}' for i in range(1, 62)]
for x in hotels:
    c.unit(x, use='hotel')
for x in others:
    c.unit(x)
c.unit('KH', use='hotel', key=True)
sel = drawn(hotels, 1, 'S3:hotel', SEED) + drawn(others, 2, 'S3', SEED) + drawn(['KH'], 1, 'S2:hotel', SEED)
sel.sort(key=lambda t: (-t[2], t[0]))
c.write([row(x, '440106', s, k, 'unassigned', 'no_inspectors', seed=SEED) for x, s, k in sel])

# 03: inspectors. `--campaign hotel=12` draws every key+crowded hotel (ceil(4 x 100% x 12 / 12)
# = 4 in 440106, 1 in 440107). District 440106: P1..P4 active, P5 inactive; 4 drawn units and
# 4 active inspectors: cap ceil(2 x 4 / 4) = 2 assignments each.
#   A, B, C: P3 and P4 list them as conflicts (回避), so each may only get P1 and P2. The first
#     two of them by key take P1 and P2; then both are full: the third is `capacity`.
#   D: its latest inspection (2026-05-01, two inspections that day) was by P1, P2 and P5
#     (rotation), an older one by P3: D may get P3 and P4.
# District 440107: E with one active inspector P7: `no_inspectors`.
c = Case('03_inspectors', ['--campaign', 'hotel=12'])
for x in 'ABCD':
    c.unit(x, use='hotel', key=True, crowded=True)
c.unit('E', district='440107', use='hotel', key=True, crowded=True)
c.inspection('D', '2026-05-01', 'key', 'P1;P5')
c.inspection('D', '2026-05-01', 'follow_up', 'P2')
c.inspection('D', '2025-03-01', 'key', 'P3')
c.inspector('P1'); c.inspector('P2')
c.inspector('P3', conflicts='A;B;C'); c.inspector('P4', conflicts='A;B;C')
c.inspector('P5', active=False)
c.inspector('P7', district='440107')
order = drawn('ABCD', 4, 'S1:hotel')               # by key
rows = []
abc = [t for t in order if t[0] != 'D']
for i, (x, s, k) in enumerate(order):
    if x == 'D':
        p = by_u('D', ['P3', 'P4'])
        rows.append(row(x, '440106', s, k, 'assigned', '', p[0], p[1]))
    elif x == abc[2][0]:
        rows.append(row(x, '440106', s, k, 'unassigned', 'capacity'))
    else:
        p = by_u(x, ['P1', 'P2'])
        rows.append(row(x, '440106', s, k, 'assigned', '', p[0], p[1]))
(x, s, k), = drawn(['E'], 1, 'S1:hotel')
rows.append(row(x, '440107', s, k, 'unassigned', 'no_inspectors'))
c.write(rows)
