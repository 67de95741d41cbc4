//! An S3 lake (feature `s3`): a real S3-compatible server (moto, from PyPI, installed here when
//! missing) on loopback; ingest → run → publish against `s3://`, outputs read back through S3
//! and compared with the same run on a local folder.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use firecredit::lake::publish::Manifest;
use firecredit::lake::Lake;

use super::helpers::*;
use super::lake::{assert_reader_agrees, race_two_ingests, race_two_nightlies, race_two_runs};

const AS_OF: &str = "2026-06-30";
const BUCKET: &str = "firecredit-test";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts moto's S3 server on a free loopback port, with an empty bucket.
fn start_s3() -> (Server, String) {
    require_python("moto.server, boto3", "moto[server]");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Server(
        Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let endpoint = format!("http://127.0.0.1:{port}");
    let made = Command::new("python3")
        .args([
            "-c",
            &format!(
                "import boto3; boto3.client('s3', endpoint_url='{endpoint}', region_name='us-east-1', \
                 aws_access_key_id='test', aws_secret_access_key='test').create_bucket(Bucket='{BUCKET}')"
            ),
        ])
        .status()
        .unwrap();
    assert!(made.success(), "could not create the bucket");
    (server, endpoint)
}

/// `firecredit` with the AWS environment pointing at the test server.
fn firecredit_s3(endpoint: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_firecredit"))
        .args(["--log", "warn"])
        .args(args)
        .envs(aws_env(endpoint))
        .output()
        .unwrap()
}

fn aws_env(endpoint: &str) -> [(&'static str, String); 6] {
    [
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ENDPOINT_URL", endpoint.into()),
        ("AWS_ALLOW_HTTP", "true".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

/// A published table's rows through the lake API (any backend), in file order.
fn rows(lake: &Lake, m: &Manifest, name: &str) -> Vec<String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let path = &m.output(name, "parquet").unwrap().path;
        let batches = lake.read_all(path, None).await.unwrap();
        let mut out = Vec::new();
        for b in batches {
            let b = firecredit::lake::publish::flatten_lists(&b).unwrap();
            out.extend(batch_lines(&b, None, "|"));
        }
        out
    })
}

#[test]
fn ingest_run_and_publish_on_an_s3_lake() {
    let (_server, endpoint) = start_s3();
    let url = format!("s3://{BUCKET}/province/gd");
    let inbox = samples("inbox");
    let inbox = inbox.to_str().unwrap();

    let ingested = firecredit_s3(&endpoint, &["ingest", "--inbox", inbox, "--lake", &url]);
    assert_ok(&ingested);
    // A second ingest of the same files is a no-op (the snapshot commit works on S3).
    assert_ok(&firecredit_s3(
        &endpoint,
        &["ingest", "--inbox", inbox, "--lake", &url],
    ));
    assert_ok(&firecredit_s3(
        &endpoint,
        &["run", "--lake", &url, "--as-of", AS_OF],
    ));

    // Read back through S3 with the library.
    for (k, v) in aws_env(&endpoint) {
        std::env::set_var(k, v);
    }
    let lake = Lake::open(&url).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let m: Manifest = rt
        .block_on(firecredit::lake::publish::read_manifest(&lake, AS_OF))
        .unwrap()
        .expect("a committed manifest on S3");
    assert_eq!(m.lake_version, 1, "the second ingest committed nothing");
    // An independent Delta reader reads the S3 tables as firecredit does.
    assert_reader_agrees(Path::new(&url));
    assert!(m.dir.starts_with(&format!("runs/{AS_OF}/")));

    // The same run on a local folder publishes the same tables.
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("lake");
    let m_local = nightly_with(&samples("inbox"), &local, AS_OF, None, &[]);
    let local_lake = Lake::open(local.to_str().unwrap()).unwrap();
    let names: Vec<&str> = m_local
        .outputs
        .iter()
        .filter(|o| o.format == "parquet")
        .map(|o| o.name.as_str())
        .collect();
    assert!(names.len() >= 15, "{names:?}");
    for name in names {
        let (a, b) = (rows(&local_lake, &m_local, name), rows(&lake, &m, name));
        assert_eq!(a, b, "{name} differs between the S3 and the local lake");
    }
    let scores = rows(&lake, &m, "unit_scores");
    assert_eq!(scores.len(), 1500);
    // Non-Parquet outputs are there too, byte for byte.
    for o in m.outputs.iter().filter(|o| o.format != "parquet") {
        let s3_bytes = rt.block_on(lake.get(&o.path)).unwrap();
        let local_out = m_local.output(&o.name, &o.format).unwrap();
        let local_bytes = std::fs::read(local.join(&local_out.path)).unwrap();
        if o.format == "csv" || o.format == "ndjson" || o.format == "html" {
            assert_eq!(
                s3_bytes.as_ref(),
                local_bytes.as_slice(),
                "{}.{}",
                o.name,
                o.format
            );
        }
        assert_eq!(
            s3_bytes.len() as u64 > 0,
            !local_bytes.is_empty(),
            "{}.{}",
            o.name,
            o.format
        );
    }
}

/// Conditional writes on S3 (If-None-Match for Delta commits, If-Match for the manifest): two
/// ingests, two nightlies or two runs of one day on one S3 lake neither lose nor double a row,
/// and one run of a day commits.
#[test]
fn two_processes_on_an_s3_lake_lose_or_double_nothing() {
    let (_server, endpoint) = start_s3();
    // The processes the races start inherit these.
    for (k, v) in aws_env(&endpoint) {
        std::env::set_var(k, v);
    }
    race_two_ingests(Path::new(&format!("s3://{BUCKET}/ingests")));
    race_two_nightlies(Path::new(&format!("s3://{BUCKET}/nightlies")));
    race_two_runs(Path::new(&format!("s3://{BUCKET}/runs")));
}
