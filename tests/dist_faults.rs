//! The faults of `connect` and of a session on a node (issue 16, point 4): no EPMD, an
//! unknown node, a wrong cookie, hostile EPMDs and peers on loopback that send garbage,
//! truncated frames and huge lengths, and a node killed mid-session. Each gives one line and
//! the shell carries on, on its own system. The hostile peers complete a real handshake
//! (erl_dist's server side) before they misbehave, so the frames after it are what is tested.

mod beam_node;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use beam_node::{BeamNode, otplab_bin, run};
use otplab::dist::{self, Cookie, DistError, NodeName};

/// A port nothing listens on: one the kernel just gave out and took back.
fn unused_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// otplab on its own system with piped input, EPMD looked up on `epmd_port`.
fn otplab(epmd_port: u16) -> Command {
    let dir = std::env::temp_dir().join(format!(
        "otplab-dist-faults-{}-{epmd_port}",
        std::process::id()
    ));
    let mut c = Command::new(otplab_bin());
    c.args(["--bare", "--no-color", "--persist"])
        .arg(dir)
        .env("ERL_EPMD_PORT", epmd_port.to_string())
        .env("OTPLAB_COOKIE", "test-cookie")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// The lines of the output that report a fault of the distribution.
fn fault_lines(out: &str) -> Vec<&str> {
    out.lines().filter(|l| l.contains("** (otplab)")).collect()
}

#[test]
fn no_epmd_gives_one_line_and_the_shell_carries_on() {
    let port = unused_port();
    let r = run(otplab(port), "connect todo@127.0.0.1\n1 + 1\n");
    let faults = fault_lines(&r.stdout);
    assert_eq!(
        faults,
        [format!(
            "** (otplab) no EPMD on 127.0.0.1:{port}: is a node running there (elixir --sname NAME)?"
        )],
        "{}",
        r.all()
    );
    assert!(r.stdout.lines().any(|l| l == "2"), "{}", r.all());
    assert!(
        r.stdout.contains("iex(1)> 1 + 1"),
        "the prompt is local again:\n{}",
        r.all()
    );

    // `--connect` fails the same way, in one line, and the shell starts on its own system.
    let mut c = otplab(port);
    c.args(["--connect", "todo@127.0.0.1"]);
    let r = run(c, "1 + 1\n");
    assert!(r.status.success(), "{}", r.all());
    assert_eq!(
        r.stderr.trim(),
        format!(
            "otplab: no EPMD on 127.0.0.1:{port}: is a node running there (elixir --sname NAME)?; starting on otplab's own system"
        ),
        "{}",
        r.all()
    );
    assert!(r.stdout.lines().any(|l| l == "2"), "{}", r.all());
}

#[test]
fn bad_node_names_are_refused_before_any_network() {
    let r = run(
        otplab(unused_port()),
        "connect \"todo\"\nconnect a@b@c\n:ok\n",
    );
    let faults = fault_lines(&r.stdout);
    assert_eq!(faults.len(), 2, "{}", r.all());
    assert!(
        faults[0].contains("not a node name: \"todo\""),
        "{}",
        r.all()
    );
    assert!(r.stdout.lines().any(|l| l == ":ok"), "{}", r.all());
}

/// A fake EPMD: answers each lookup with `answer`, or with a `PORT2_RESP` for `port`.
fn fake_epmd(answer: impl Fn() -> Vec<u8> + Send + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let mut len = [0u8; 2];
            if s.read_exact(&mut len).is_err() {
                continue;
            }
            let mut req = vec![0; u16::from_be_bytes(len) as usize];
            let _ = s.read_exact(&mut req);
            let _ = s.write_all(&answer());
        }
    });
    port
}

/// The `PORT2_RESP` of a node listening on `port`.
fn port2_resp(port: u16) -> Vec<u8> {
    let mut v = vec![119, 0];
    v.extend(port.to_be_bytes());
    v.extend([77, 0, 0, 6, 0, 5, 0, 4]);
    v.extend(b"fake");
    v.extend([0, 0]);
    v
}

fn lookup(epmd_port: u16) -> Result<dist::Connection, DistError> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let opts = dist::Options {
            epmd_port,
            connect_timeout: Duration::from_secs(10),
            ..dist::Options::default()
        };
        dist::connect(
            &NodeName::parse("fake@127.0.0.1").unwrap(),
            &Cookie::given("test-cookie").unwrap(),
            &opts,
        )
        .await
    })
}

#[test]
fn an_unknown_node_and_a_garbage_epmd_each_give_their_line() {
    let unknown = fake_epmd(|| vec![119, 1]);
    assert_eq!(
        lookup(unknown).err(),
        Some(DistError::UnknownNode {
            name: "fake".into(),
            host: "127.0.0.1".into()
        })
    );
    let r = run(otplab(unknown), "connect fake@127.0.0.1\n:ok\n");
    assert_eq!(
        fault_lines(&r.stdout),
        ["** (otplab) EPMD on 127.0.0.1 knows no node named fake"],
        "{}",
        r.all()
    );

    for garbage in [
        vec![0xff; 64],
        vec![119],
        vec![119, 0, 0x12],
        vec![119, 7],
        // A name length of 65535 with nothing after it.
        vec![119, 0, 1, 0, 77, 0, 0, 6, 0, 5, 0xff, 0xff],
    ] {
        let port = fake_epmd(move || garbage.clone());
        let e = lookup(port).err().expect("a garbage answer is an error");
        assert!(
            matches!(e, DistError::Protocol { .. } | DistError::NodeDown { .. }),
            "{e:?}"
        );
        assert_eq!(e.to_string().lines().count(), 1, "{e}");
    }
}

/// A fake peer: a real handshake with `cookie` through erl_dist's server side, then `send`
/// writes what it likes; the connection is then held open until the test ends, or closed.
fn fake_peer(cookie: &'static str, hold: bool, send: impl Fn() -> Vec<u8> + Send + 'static) -> u16 {
    use tokio_util::compat::TokioAsyncReadCompatExt;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let mut held = vec![];
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let me = erl_dist::node::LocalNode::new(
                    "fake@127.0.0.1".parse().unwrap(),
                    erl_dist::node::Creation::random(),
                );
                let mut hs =
                    erl_dist::handshake::ServerSideHandshake::new(stream.compat(), me, cookie);
                if hs.execute_recv_name().await.is_err() {
                    continue;
                }
                let Ok((stream, _)) = hs
                    .execute_rest(erl_dist::handshake::HandshakeStatus::Ok)
                    .await
                else {
                    continue;
                };
                let mut stream = stream.into_inner();
                use tokio::io::AsyncWriteExt;
                let _ = stream.write_all(&send()).await;
                let _ = stream.flush().await;
                if hold {
                    held.push(stream);
                }
            }
        });
    });
    port
}

/// Connects to a fake peer that sends `bytes` after the handshake (and then closes the
/// connection, or holds it open); why the connection ended.
fn after_handshake(bytes: Vec<u8>, hold: bool, opts: dist::Options) -> DistError {
    let peer = fake_peer("test-cookie", hold, move || bytes.clone());
    let epmd = fake_epmd(move || port2_resp(peer));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let opts = dist::Options {
            epmd_port: epmd,
            connect_timeout: Duration::from_secs(10),
            ..opts
        };
        let conn = dist::connect(
            &NodeName::parse("fake@127.0.0.1").unwrap(),
            &Cookie::given("test-cookie").unwrap(),
            &opts,
        )
        .await
        .expect("the handshake with the fake peer completes");
        tokio::time::timeout(Duration::from_secs(30), conn.closed())
            .await
            .expect("the connection ends on the hostile frame")
    })
}

/// The largest resident set this test process has had, in kB.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn hostile_frames_after_the_handshake_end_the_connection_in_one_line_and_bounded_memory() {
    let frame = |body: &[u8]| {
        let mut v = (body.len() as u32).to_be_bytes().to_vec();
        v.extend(body);
        v
    };
    // A SEND control tuple {2, '', Pid} … is not needed: the checks come before decoding.
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("a huge length", vec![0xff, 0xff, 0xff, 0xf0, 112, 131]),
        ("a frame cut short", vec![0, 0, 1, 0, 112, 131, 104]),
        ("a frame of another type", frame(&[68, 0, 0])),
        ("garbage", frame(&[112, 1, 2, 3, 4, 5])),
        (
            "a list claiming four billion elements",
            frame(&[112, 131, 108, 0xff, 0xff, 0xff, 0xff, 106]),
        ),
        ("deep nesting", {
            let mut body = vec![112, 131];
            body.extend(std::iter::repeat_n([104u8, 1], 100_000).flatten());
            body.push(106);
            frame(&body)
        }),
        (
            "a binary longer than the frame",
            frame(&[112, 131, 109, 0x7f, 0xff, 0xff, 0xff, 1]),
        ),
    ];
    let before = peak_rss_kb();
    for (what, bytes) in cases {
        // The peer closes after its bytes, so a frame cut short ends at the end of the stream.
        let why = after_handshake(bytes, false, dist::Options::default());
        assert!(
            matches!(why, DistError::Protocol { .. } | DistError::NodeDown { .. }),
            "{what}: {why:?}"
        );
        let line = why.to_string();
        assert_eq!(line.lines().count(), 1, "{what}: {line}");
        assert!(line.starts_with("fake@127.0.0.1 "), "{what}: {line}");
    }
    let grown = peak_rss_kb().saturating_sub(before);
    assert!(
        grown < 256 * 1024,
        "hostile frames made the process grow by {grown} kB"
    );
}

#[test]
fn a_peer_that_falls_silent_is_a_net_split() {
    // Nothing after the handshake, not even ticks, with the connection held open.
    let opts = dist::Options {
        tick: Duration::from_millis(50),
        silence: Duration::from_millis(300),
        ..dist::Options::default()
    };
    let why = after_handshake(vec![], true, opts);
    assert_eq!(
        why.to_string(),
        "fake@127.0.0.1 did not answer within 300 ms (net split or busy node)"
    );
}

#[test]
fn a_wrong_cookie_on_a_fake_peer_is_named_as_such() {
    let peer = fake_peer("the-right-cookie", true, Vec::new);
    let epmd = fake_epmd(move || port2_resp(peer));
    assert_eq!(
        lookup(epmd).err(),
        Some(DistError::WrongCookie {
            node: "fake@127.0.0.1".into()
        })
    );
}

#[test]
fn a_hostile_peer_in_a_session_gives_one_line_and_the_shell_carries_on() {
    let peer = fake_peer("test-cookie", true, || vec![0xff, 0xff, 0xff, 0xf0]);
    let epmd = fake_epmd(move || port2_resp(peer));
    let r = run(
        otplab(epmd),
        "connect fake@127.0.0.1\n:before\n1 + 1\n:after\n",
    );
    let faults = fault_lines(&r.stdout);
    assert_eq!(faults.len(), 1, "{}", r.all());
    assert!(
        faults[0].contains("broke the distribution protocol")
            && faults[0].ends_with("back on otplab's own system"),
        "{}",
        r.all()
    );
    assert!(r.stdout.lines().any(|l| l == ":after"), "{}", r.all());
    assert!(!r.stdout.contains("panicked"), "{}", r.all());
}

#[test]
fn a_wrong_cookie_on_a_real_node_gives_its_line() {
    let node = BeamNode::start();
    let r = run(node.otplab_with_cookie("NOTTHECOOKIE"), "1 + 1\n");
    assert!(r.status.success(), "{}", r.all());
    let all = r.all();
    let said: Vec<&str> = all.lines().filter(|l| l.contains("cookie")).collect();
    assert_eq!(
        said,
        [format!(
            "otplab: {} refused the connection: wrong cookie; starting on otplab's own system",
            node.name()
        )],
        "{all}"
    );
    assert!(r.stdout.lines().any(|l| l == "2"), "{all}");
    assert!(
        !r.all().contains("NOTTHECOOKIE") && !r.all().contains(node.cookie()),
        "no cookie is ever printed:\n{}",
        r.all()
    );
}

#[test]
fn a_node_killed_mid_session_leaves_the_shell_usable_on_its_own_system() {
    let mut node = BeamNode::start();
    let mut s = node.session();
    s.send("Node.self()");
    let me = format!(":{}", node.name());
    s.read_until(|l| l.ends_with(&me));
    // A line that is still running on the node when it dies: it says on the node's own
    // output that it has started.
    s.send(":io.format(:user, \"otplab-sleeping~n\", []); Process.sleep(60_000)");
    assert!(
        eventually(Duration::from_secs(60), || node
            .output()
            .contains("otplab-sleeping")),
        "the line runs on the node:\n{}",
        node.output()
    );
    node.kill();
    let gone = s.read_until(|l| l.contains("** (otplab)"));
    assert!(
        gone.contains(&format!("{} is gone", node.name()))
            && gone.ends_with("back on otplab's own system"),
        "{gone}"
    );
    s.send("40 + 2");
    s.read_until(|l| l == "42");
    s.send("ps");
    s.read_until(|l| l.contains("(shell)"));
    let (rest, status) = s.finish();
    assert!(status.success(), "{rest:?}");
    assert_eq!(
        s_faults(&rest),
        0,
        "the fault is reported once, not again later: {rest:?}"
    );
}

/// Polls `ok` until it holds or `within` has passed; whether it held.
fn eventually(within: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline {
        if ok() {
            return true;
        }
        // The node is another OS process, with no signal to wait on.
        std::thread::sleep(Duration::from_millis(20));
    }
    ok()
}

fn s_faults(lines: &[String]) -> usize {
    lines.iter().filter(|l| l.contains("** (otplab)")).count()
}
