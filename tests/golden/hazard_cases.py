#!/usr/bin/env python3
"""Writes the golden cases of this folder. Every expected value below is written by hand from
docs/scoring.md (only calendar arithmetic is computed); rerun after changing a case:
python3 tests/golden/hazard_cases.py
"""
import os, shutil
ROOT=os.path.join(os.path.dirname(os.path.abspath(__file__)),'hazard')
def w(path, header, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path,'w') as f:
        f.write(header+'\n')
        for r in rows: f.write(','.join(str(x) for x in r)+'\n')
UH='unit_id,name,grid_id,district_code,use_type,key_unit,crowded_place,status'
H=3600*10**6
# 01 interval logic
d=ROOT+'/01_intervals'; shutil.rmtree(d, ignore_errors=True)
os.makedirs(d)
open(d+'/as_of','w').write('2026-06-30\n')
units=[(f'U{i}',f'单位{i}','G1','440106','office','false','false','open') for i in range(1,9)]
w(d+'/inbox/units/units.csv',UH,units)
T=lambda s: s+'+08:00'
ev=[
 # D1: overlapping shield and offline: union 06-10 .. 06-13 = 72 h exactly
 ('D1','U1',T('2026-06-10T00:00:00'),'auto_alarm','shield'),('D1','U1',T('2026-06-11T00:00:00'),'auto_alarm','offline'),
 ('D1','U1',T('2026-06-12T00:00:00'),'auto_alarm','unshield'),('D1','U1',T('2026-06-13T00:00:00'),'auto_alarm','online'),
 # D2: 71 h 59 m
 ('D2','U2',T('2026-06-20T00:00:00'),'auto_alarm','offline'),('D2','U2',T('2026-06-22T23:59:00'),'auto_alarm','online'),
 # D3: open at as_of (runs to the window end); an event at the window end is unknown
 ('D3','U3',T('2026-06-27T00:00:00'),'auto_alarm','offline'),('D3','U3',T('2026-07-01T00:00:00'),'auto_alarm','online'),
 # D4: starts before the window, counted from its start; an interval wholly before it is out
 ('D4','U4',T('2026-05-20T00:00:00'),'auto_alarm','fault'),('D4','U4',T('2026-05-25T00:00:00'),'auto_alarm','offline'),
 ('D4','U4',T('2026-05-26T00:00:00'),'auto_alarm','online'),('D4','U4',T('2026-06-04T00:00:00'),'auto_alarm','restore'),
 # D5: a restore closes fault and pressure_low; a second opening changes nothing; a stray restore is ignored
 ('D5','U5',T('2026-06-05T00:00:00'),'sprinkler','pressure_low'),('D5','U5',T('2026-06-05T06:00:00'),'sprinkler','fault'),
 ('D5','U5',T('2026-06-08T00:00:00'),'sprinkler','restore'),('D5','U5',T('2026-06-09T00:00:00'),'sprinkler','restore'),
 ('D5','U5',T('2026-06-10T00:00:00'),'sprinkler','pressure_low'),('D5','U5',T('2026-06-10T12:00:00'),'sprinkler','pressure_low'),
 ('D5','U5',T('2026-06-11T00:00:00'),'sprinkler','restore'),
 # D6, D7: two devices of one unit, 36 h each: never summed
 ('D6','U6',T('2026-06-01T00:00:00'),'auto_alarm','offline'),('D6','U6',T('2026-06-02T12:00:00'),'auto_alarm','online'),
 ('D7','U6',T('2026-06-05T00:00:00'),'auto_alarm','offline'),('D7','U6',T('2026-06-06T12:00:00'),'auto_alarm','online'),
 # D8: offline and online at the same instant: zero length; a closing with nothing open
 ('D8','U7',T('2026-06-15T10:00:00'),'auto_alarm','online'),('D8','U7',T('2026-06-15T10:00:00'),'auto_alarm','offline'),
 ('D8','U7',T('2026-06-16T00:00:00'),'auto_alarm','online'),
 # D9: hydrant low pressure, 72 h
 ('D9','U8',T('2026-06-20T00:00:00'),'hydrant','pressure_low'),('D9','U8',T('2026-06-23T00:00:00'),'hydrant','restore'),
]
w(d+'/inbox/iot_events/events.csv','device_id,unit_id,ts,system,event',ev)
w(d+'/device_downtime.csv','device_id,unit_id,element,down_us',[
 ('D1','U1','CI1',72*H),('D2','U2','CI1',71*H+59*60*10**6),('D3','U3','CI1',96*H),('D4','U4','CI1',72*H),
 ('D5','U5','CI2',96*H),('D6','U6','CI1',36*H),('D7','U6','CI1',36*H),('D8','U7','CI1',0),('D9','U8','CI2',72*H)])
w(d+'/hazard_elements.csv','unit_id,element,kind,since,source',[
 ('U1','CI1','comprehensive','2026-06-10','D1'),('U3','CI1','comprehensive','2026-06-27','D3'),
 ('U4','CI1','comprehensive','2026-06-01','D4'),('U5','CI2','comprehensive','2026-06-05','D5'),
 ('U8','CI2','comprehensive','2026-06-20','D9')])
w(d+'/major_hazard_units.csv','unit_id,basis,elements,comprehensive_count,threshold,since,status',[])

# 02 thresholds by category
d=ROOT+'/02_thresholds'; shutil.rmtree(d, ignore_errors=True); os.makedirs(d)
open(d+'/as_of','w').write('2026-06-30\n')
U=[('U10','retail','false','true','open'),('U11','hazmat','false','false','open'),('U12','office','true','false','open'),
   ('U13','office','true','false','open'),('U14','office','false','false','open'),('U15','office','false','false','open'),
   ('U16','hotel','true','true','open'),('U17','factory','false','false','open'),('U18','factory','false','false','closed'),
   ('U19','retail','false','true','open'),('U20','factory','false','false','open'),('U21','factory','false','false','open'),
   ('U22','office','true','false','open')]
w(d+'/inbox/units/units.csv',UH,[(u,'单位'+u,'G1','440106',t,k,c,s) for u,t,k,c,s in U])
comp=['V101','V103','V104','V105','V106','V102']  # C01 C03 C04 C05 C06 C02
V=[]; 
def add(u,codes,found='2026-06-01',extra=None):
    for i,c in enumerate(codes): V.append((f'{u}-{i}','I-'+u,u,c,found,'',''))
add('U10',comp[:3]); add('U11',comp[:3]); add('U12',comp[:3]); add('U13',comp[:4]); add('U14',comp[:5]); add('U15',comp[:6])
add('U16',comp[:3]); add('U17',['V111']); add('U18',['V111'])
# U19: three findings, one voided by an objection, one rectified by as_of
V.append(('U19-0','I-U19','U19','V101','2026-06-01','','')); V.append(('U19-1','I-U19','U19','V103','2026-06-01','2026-06-10','2026-06-05'))
V.append(('U19-2','I-U19','U19','V104','2026-06-01','',''))
V.append(('U20-0','I-U20','U20','V111','2025-06-30','',''))  # as_of - 365: too old
V.append(('U21-0','I-U21','U21','V111','2025-07-01','',''))  # as_of - 364: current
V.append(('U22-0','I-U22','U22','V101','2026-01-01','',''))  # effectively repaired: still a hazard
for i,c in enumerate(['V103','V104','V105'],1): V.append((f'U22-{i}','I-U22','U22',c,'2026-06-01','',''))
w(d+'/inbox/violations/violations.csv','violation_id,inspection_id,unit_id,code,found_on,rectify_due,rectified_on',V)
w(d+'/inbox/credit_actions/credit_actions.csv','action_id,unit_id,kind,code,ref_id,effective_on',[
 ('A1','U19','objection_upheld','','U19-2','2026-06-15'),('A2','U22','repair','','U22-0','2026-04-01')])
w(d+'/major_hazard_units.csv','unit_id,basis,elements,comprehensive_count,threshold,since,status',[
 ('U10','comprehensive','C01;C03;C04',3,3,'2026-06-01','new'),
 ('U11','comprehensive','C01;C03;C04',3,3,'2026-06-01','new'),
 ('U13','comprehensive','C01;C03;C04;C05',4,4,'2026-06-01','new'),
 ('U15','comprehensive','C01;C02;C03;C04;C05;C06',6,6,'2026-06-01','new'),
 ('U16','comprehensive','C01;C03;C04',3,3,'2026-06-01','new'),
 ('U17','direct','D01',0,6,'2026-06-01','new'),
 ('U21','direct','D01',0,6,'2025-07-01','new'),
 ('U22','comprehensive','C01;C03;C04;C05',4,4,'2026-01-01','new')])
print('ok')
