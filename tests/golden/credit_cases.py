#!/usr/bin/env python3
"""Writes the golden cases of this folder. Every expected value below is written by hand from
docs/scoring.md (only calendar arithmetic is computed); rerun after changing a case:
python3 tests/golden/credit_cases.py
"""
import os, datetime as dt, shutil
ROOT=os.path.join(os.path.dirname(os.path.abspath(__file__)),'credit')
D=dt.date(2026,6,30)
def ds(x): return x.isoformat() if x else ''
def P(s): return dt.date.fromisoformat(s)
WIN={'minor':90,'general':365,'serious':1095}
CLS={'V101':'general','V102':'general','V103':'serious','V104':'general','V105':'general','V109':'general','V111':'serious','V116':'minor','V119':'serious','V120':'serious','X01':'general','F1':'serious','F2':'serious','F3':'serious',
     'T50':'general','T51':'general','T150':'general','T151':'general','T300':'general','T301':'general'}
BON={'B01':365,'B02':730,'B03':365,'B04':365,'B05':365}
def wend(code, date):
    w = BON.get(code) or WIN[CLS[code]]
    return date + dt.timedelta(days=w-1)
class Case:
    def __init__(s, name): s.name=name; s.units=set(); s.v=[]; s.i=[]; s.a=[]; s.led=[]; s.sc=[]; s.rules=None
    def viol(s, vid, unit, code, found, due=None, rect=None):
        s.units.add(unit); s.v.append((vid,'I-'+vid,unit,code,found,due or '',rect or ''))
    def inc(s, iid, unit, when, deaths=0, injuries=0, resp='true', kind='fire'):
        s.units.add(unit); s.i.append((iid,unit,'G1',when,kind,str(deaths),str(injuries),'',resp))
    def act(s, aid, unit, kind, code='', ref='', eff=''):
        s.units.add(unit); s.a.append((aid,unit,kind,code,ref,eff))
    def L(s, unit, eid, code, date, pts, status, ref='', we=True):
        date=P(date); s.led.append((unit,eid,ref,code,ds(date),ds(wend(code,date)) if we else '',str(pts),status))
    def S(s, unit, pts, grade, veto='', reasons=''):
        s.sc.append((unit,str(pts),grade,veto,reasons))
    def write(s):
        d=os.path.join(ROOT,s.name); shutil.rmtree(d, ignore_errors=True); os.makedirs(d+'/inbox/units')
        with open(d+'/as_of','w') as f: f.write(D.isoformat()+'\n')
        def w(path, header, rows):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path,'w') as f:
                f.write(header+'\n')
                for r in rows: f.write(','.join(r)+'\n')
        w(d+'/inbox/units/units.csv','unit_id,name,grid_id',[(u,'单位'+u,'G1') for u in sorted(s.units)])
        if s.v: w(d+'/inbox/violations/violations.csv','violation_id,inspection_id,unit_id,code,found_on,rectify_due,rectified_on',s.v)
        if s.i: w(d+'/inbox/incidents/incidents.csv','incident_id,unit_id,grid_id,occurred_at,kind,deaths,injuries,direct_loss_yuan,unit_responsible',s.i)
        if s.a: w(d+'/inbox/credit_actions/credit_actions.csv','action_id,unit_id,kind,code,ref_id,effective_on',s.a)
        led=sorted(s.led,key=lambda r:(r[0],r[4],r[1]))
        w(d+'/credit_ledger.csv','unit_id,event_id,ref_id,code,event_date,window_end,points,status',led)
        w(d+'/unit_scores.csv','unit_id,credit_points,credit_grade,veto_reason,reasons',sorted(s.sc))
        if s.rules:
            os.makedirs(d+'/rules')
            for f in ['bonuses.csv','classes.csv','hazard_elements.csv']: shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)),'../../sql/rules/')+f, d+'/rules/'+f)
            txt=open('/work/main/sql/rules/violations.csv').read()
            with open(d+'/rules/violations.csv','w') as f: f.write(txt+''.join(s.rules))

# 01 repeat doubling and its 365-day edge; no compounding
c=Case('01_repeat')
c.viol('U1-a','U1','V101','2025-01-01'); c.viol('U1-b','U1','V101','2026-01-01')
c.viol('U2-a','U2','V101','2025-01-01'); c.viol('U2-b','U2','V101','2026-01-02')
c.viol('U3-a','U3','V101','2025-10-01'); c.viol('U3-b','U3','V101','2026-01-01'); c.viol('U3-c','U3','V101','2026-03-01')
c.L('U1','U1-a','V101','2025-01-01',-30,'expired'); c.L('U1','U1-b','V101','2026-01-01',-60,'active')
c.L('U2','U2-a','V101','2025-01-01',-30,'expired'); c.L('U2','U2-b','V101','2026-01-02',-30,'active')
c.L('U3','U3-a','V101','2025-10-01',-30,'active'); c.L('U3','U3-b','V101','2026-01-01',-60,'active'); c.L('U3','U3-c','V101','2026-03-01',-60,'active')
c.S('U1',940,'B','','V101:60'); c.S('U2',970,'A','','V101:30'); c.S('U3',850,'B','','V101:60;V101:60;V101:30')
c.write()

# 02 timely rectification halves after doubling; on-the-spot; rectified after as_of
c=Case('02_timely')
c.viol('U1-a','U1','V101','2025-12-01','2025-12-16','2025-12-10'); c.viol('U1-b','U1','V101','2026-02-01','2026-02-16','2026-02-16')
c.viol('U2-c','U2','V104','2026-03-01','','2026-03-01'); c.viol('U2-d','U2','V105','2026-03-02','','2026-03-03')
c.viol('U3-e','U3','V101','2026-06-01','2026-06-10','2026-07-05')
c.L('U1','U1-a','V101','2025-12-01',-15,'active'); c.L('U1','U1-b','V101','2026-02-01',-30,'active')
c.L('U2','U2-c','V104','2026-03-01',-15,'active'); c.L('U2','U2-d','V105','2026-03-02',-30,'active')
c.L('U3','U3-e','V101','2026-06-01',-30,'active'); c.L('U3','U3-e#X01','X01','2026-06-11',-50,'active')
c.S('U1',955,'A','','V101:30;V101:15'); c.S('U2',955,'A','','V105:30;V104:15'); c.S('U3',920,'B','','X01:50;V101:30')
c.write()

# 03 X01 creation and its date
c=Case('03_x01')
c.viol('U1-f','U1','V102','2026-01-10','2026-01-20'); c.viol('U1-g','U1','V104','2026-02-01','2026-02-11','2026-02-20')
c.viol('U1-h','U1','V105','2026-03-01','2026-03-10','2026-03-10')
c.viol('U2-i','U2','V101','2026-06-20','2026-06-30'); c.viol('U2-j','U2','V104','2026-06-19','2026-06-29')
c.L('U1','U1-f','V102','2026-01-10',-50,'active'); c.L('U1','U1-f#X01','X01','2026-01-21',-50,'active')
c.L('U1','U1-g','V104','2026-02-01',-30,'active'); c.L('U1','U1-g#X01','X01','2026-02-12',-50,'active')
c.L('U1','U1-h','V105','2026-03-01',-15,'active')
c.L('U2','U2-i','V101','2026-06-20',-30,'active'); c.L('U2','U2-j','V104','2026-06-19',-30,'active'); c.L('U2','U2-j#X01','X01','2026-06-30',-50,'active')
c.S('U1',805,'C','','X01:50;X01:50;V102:50'); c.S('U2',890,'B','','X01:50;V101:30;V104:30')
c.write()

# 04 each window's last counted day and first expired day
c=Case('04_windows')
for code,w in [('V116',90),('V101',365),('V103',1095)]:
    last=D-dt.timedelta(days=w-1); first_exp=D-dt.timedelta(days=w)
    c.viol('U1-'+code,'U1',code,ds(last)); c.viol('U2-'+code,'U2',code,ds(first_exp))
    c.L('U1','U1-'+code,code,ds(last),{'V116':-10,'V101':-30,'V103':-100}[code],'active')
    c.L('U2','U2-'+code,code,ds(first_exp),{'V116':-10,'V101':-30,'V103':-100}[code],'expired')
for code,w,p in [('B01',365,20),('B02',730,40)]:
    last=D-dt.timedelta(days=w-1); first_exp=D-dt.timedelta(days=w)
    c.act('U1-'+code,'U1','bonus',code,'',ds(last)); c.act('U2-'+code,'U2','bonus',code,'',ds(first_exp))
    c.L('U1','U1-'+code,code,ds(last),p,'active'); c.L('U2','U2-'+code,code,ds(first_exp),p,'expired')
c.S('U1',920,'B','','V103:100;V101:30;V116:10'); c.S('U2',1000,'A','','')
c.write()

# 05 objection upheld: voided from the start, with its X01, and not a repeat predecessor
c=Case('05_objection')
c.viol('U1-k','U1','V101','2026-01-05','2026-01-15'); c.act('A1','U1','objection_upheld','','U1-k','2026-02-01')
c.viol('U1-l','U1','V101','2026-03-01'); c.viol('U1-m','U1','V104','2026-05-01'); c.act('A2','U1','objection_upheld','','U1-m','2026-07-15')
c.inc('U2-F1','U2','2026-02-10T10:00:00+08:00'); c.act('A3','U2','objection_upheld','','U2-F1','2026-03-01')
c.inc('U2-F2','U2','2026-03-10T10:00:00+08:00',injuries=1)
c.L('U1','U1-k','V101','2026-01-05',-30,'voided'); c.L('U1','U1-k#X01','X01','2026-01-16',-50,'voided')
c.L('U1','U1-l','V101','2026-03-01',-30,'active'); c.L('U1','U1-m','V104','2026-05-01',-30,'active')
c.L('U2','U2-F1','F1','2026-02-10',-100,'voided'); c.L('U2','U2-F2','F2','2026-03-10',-200,'active')
c.S('U1',940,'B','','V104:30;V101:30'); c.S('U2',800,'C','','F2:200')
c.write()

# 06 credit repair on the minimum day vs one day early, per class, with its X01
c=Case('06_repair')
c.viol('U1-n','U1','V101','2026-01-01','2026-01-10'); c.act('R1','U1','repair','','U1-n','2026-04-01')
c.viol('U2-o','U2','V101','2026-01-01','2026-01-10'); c.act('R2','U2','repair','','U2-o','2026-03-31')
c.viol('U3-p','U3','V103','2025-05-01'); c.act('R3','U3','repair','','U3-p','2026-05-01')
c.viol('U3-q','U3','V116','2026-06-01'); c.act('R4','U3','repair','','U3-q','2026-06-01')
c.inc('U4-F','U4','2025-06-01T09:00:00+08:00'); c.act('R5','U4','repair','','U4-F','2026-06-01')
c.L('U1','U1-n','V101','2026-01-01',-30,'repaired'); c.L('U1','U1-n#X01','X01','2026-01-11',-50,'repaired')
c.L('U2','U2-o','V101','2026-01-01',-30,'active'); c.L('U2','U2-o#X01','X01','2026-01-11',-50,'active')
c.L('U2','R2','V101','2026-03-31',0,'repair_too_early',ref='U2-o',we=False)
c.L('U3','U3-p','V103','2025-05-01',-100,'repaired'); c.L('U3','U3-q','V116','2026-06-01',-10,'repaired')
c.L('U4','U4-F','F1','2025-06-01',-100,'repaired')
c.S('U1',1000,'A'); c.S('U2',920,'B','','X01:50;V101:30'); c.S('U3',1000,'A'); c.S('U4',1000,'A')
c.write()

# 07 bonus cap at 100; clamp at 0 and 1100
c=Case('07_bonus_clamp')
for u in ['U1','U2']:
    for code,p in [('B01',20),('B02',40),('B03',20),('B04',10),('B05',20)]:
        c.act(u+'-'+code,u,'bonus',code,'','2026-06-01'); c.L(u,u+'-'+code,code,'2026-06-01',p,'active')
c.viol('U2-v','U2','V101','2026-06-01'); c.L('U2','U2-v','V101','2026-06-01',-30,'active')
for k in range(6):
    c.viol(f'U3-{k}','U3','V111','2026-06-01'); c.L('U3',f'U3-{k}','V111','2026-06-01',-200,'active')
c.S('U1',1100,'A'); c.S('U2',1070,'A','','V101:30'); c.S('U3',0,'D','','V111:200;V111:200;V111:200')
c.write()

# 08 veto (一票否决)
c=Case('08_veto')
c.viol('U1-a','U1','V119','2026-06-01'); c.L('U1','U1-a','V119','2026-06-01',-200,'active')
c.viol('U2-a','U2','V120','2026-05-01'); c.L('U2','U2-a','V120','2026-05-01',-200,'active')
c.inc('U2-F','U2','2026-04-01T12:00:00Z',deaths=1); c.L('U2','U2-F','F3','2026-04-01',-300,'active')
c.viol('U3-a','U3','V119','2026-06-01'); c.act('A1','U3','objection_upheld','','U3-a','2026-06-10'); c.L('U3','U3-a','V119','2026-06-01',-200,'voided')
c.viol('U4-a','U4','V119','2023-06-30'); c.L('U4','U4-a','V119','2023-06-30',-200,'expired')
c.S('U1',800,'D','V119','V119:200'); c.S('U2',500,'D','F3;V120','F3:300;V120:200'); c.S('U3',1000,'A'); c.S('U4',1000,'A')
c.write()

# 09 grade thresholds 950 / 850 / 700 (custom rule table with exact point values)
c=Case('09_grades')
c.rules=[f'T{p},general,{p},,false,测试{p},test {p}\n' for p in [50,51,150,151,300,301]]
for p,g in [(50,'A'),(51,'B'),(150,'B'),(151,'C'),(300,'C'),(301,'D')]:
    u=f'U{1000-p}'; c.viol(u+'-a',u,f'T{p}','2026-06-01'); c.L(u,u+'-a',f'T{p}','2026-06-01',-p,'active'); c.S(u,1000-p,g,'',f'T{p}:{p}')
c.write()

# 10 reasons: largest first; ties by later event date, then smaller event id
c=Case('10_reasons')
c.viol('E3','U1','V101','2026-03-01'); c.viol('E1','U1','V104','2026-03-01'); c.viol('E9','U1','V105','2026-05-01')
c.viol('E2','U1','V109','2026-02-01'); c.viol('E0','U1','V116','2026-06-01')
for eid,code,d,p in [('E3','V101','2026-03-01',-30),('E1','V104','2026-03-01',-30),('E9','V105','2026-05-01',-30),('E2','V109','2026-02-01',-30),('E0','V116','2026-06-01',-10)]:
    c.L('U1',eid,code,d,p,'active')
c.S('U1',870,'B','','V105:30;V104:30;V101:30')
c.write()
print('ok')
