//! The Ballista engine (feature `ballista`): a real scheduler and two executors, each its own
//! `firecredit` process on loopback, run `nightly` on the samples and a night after it (the
//! intervals carried forward); every published table must equal the local run's.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::helpers::*;

const AS_OF: &str = "2026-06-30";

/// Child processes killed when the test ends, pass or fail.
struct Cluster(Vec<Child>);

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A port free at the time of asking.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(args: &[&str], log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_firecredit"))
        .args(["--log", "info"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start a cluster process")
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts `firecredit scheduler` and two `firecredit executor`s; returns them and the engine
/// URL.
fn start_cluster(dir: &Path) -> (Cluster, String) {
    let sched = free_port();
    let mut cluster = Cluster(vec![spawn(
        &[
            "scheduler",
            "--bind-host",
            "127.0.0.1",
            "--external-host",
            "127.0.0.1",
            "--port",
            &sched.to_string(),
        ],
        &dir.join("scheduler.log"),
    )]);
    wait_for_port(sched, "the scheduler");
    for i in 0..2 {
        let (flight, grpc) = (free_port(), free_port());
        let work = dir.join(format!("executor{i}"));
        std::fs::create_dir_all(&work).unwrap();
        cluster.0.push(spawn(
            &[
                "executor",
                "--bind-host",
                "127.0.0.1",
                "--port",
                &flight.to_string(),
                "--grpc-port",
                &grpc.to_string(),
                "--scheduler-host",
                "127.0.0.1",
                "--scheduler-port",
                &sched.to_string(),
                "--concurrent-tasks",
                "2",
                "--work-dir",
                work.to_str().unwrap(),
            ],
            &dir.join(format!("executor{i}.log")),
        ));
        wait_for_port(flight, "an executor");
    }
    (cluster, format!("ballista://127.0.0.1:{sched}"))
}

#[test]
fn nightly_on_a_ballista_cluster_publishes_what_the_local_engine_does() {
    let dir = tempfile::tempdir().unwrap();
    let (_cluster, engine) = start_cluster(dir.path());

    let local = dir.path().join("local");
    let distributed = dir.path().join("distributed");
    let m_local = nightly_with(&samples("inbox"), &local, AS_OF, None, &[]);
    let m_dist = nightly_with(
        &samples("inbox"),
        &distributed,
        AS_OF,
        None,
        &["--engine", &engine],
    );

    assert_eq!(m_local.engine, "local");
    assert_eq!(m_dist.engine, engine);
    // The executors ran the SQL: the scheduler saw jobs and the executors ran tasks.
    let sched_log = std::fs::read_to_string(dir.path().join("scheduler.log")).unwrap();
    assert!(
        sched_log.contains("Job") || sched_log.contains("job"),
        "scheduler ran no job:\n{sched_log}"
    );
    // Scratch tables are removed after the commit.
    assert!(
        !distributed.join("_scratch").exists()
            || std::fs::read_dir(distributed.join("_scratch"))
                .unwrap()
                .next()
                .is_none()
    );

    assert_same_contents(
        "the first night",
        (&local, &m_local),
        (&distributed, &m_dist),
    );
    // Same rows as a sanity check on the comparison itself.
    let local_contents = contents(&local, &m_local);
    assert!(local_contents.len() >= 20, "{}", local_contents.len());
    let scores = local_contents
        .iter()
        .find(|(k, _)| k == "unit_scores.parquet")
        .unwrap();
    assert_eq!(scores.1.len(), 1500);

    // The next night, with a late IoT event: the cluster carries the intervals forward too.
    let next = inbox(
        dir.path(),
        "next",
        &[(
            "iot_events/next.csv",
            b"device_id,unit_id,ts,system,event,value\n\
              U0000000-D1,U0000000,2026-03-01T10:00:00+08:00,sprinkler,pressure_low,\n\
              U0000000-D1,U0000000,2026-07-01T09:00:00+08:00,sprinkler,restore,\n",
        )],
    );
    let day = "2026-07-01";
    let n_local = nightly_with(&next, &local, day, None, &[]);
    let n_dist = nightly_with(&next, &distributed, day, None, &["--engine", &engine]);
    for m in [&n_local, &n_dist] {
        assert_eq!(m.reuse["iot_intervals"].mode, "carried");
    }
    assert_same_contents(day, (&local, &n_local), (&distributed, &n_dist));
}
