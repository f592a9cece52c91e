//! One connection to a node: EPMD lookup, the OTP 23+ handshake as a hidden node (erl_dist),
//! then two tasks: the reader, which routes each incoming message to the call waiting for it
//! or to a subscribed local pid, and the writer, which sends what the shell asks and a tick
//! when the line is quiet. A node that sends nothing (not even its ticks) for
//! [`Options::silence`] is taken to be split off, as net_kernel takes it after four missed
//! ticks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eetf::Term as W;
use erl_dist::DistributionFlags;
use erl_dist::handshake::{ClientSideHandshake, HandshakeError, HandshakeStatus};
use erl_dist::message::Message;
use erl_dist::node::{Creation, LocalNode};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::compat::TokioAsyncReadCompatExt;

use super::cookie::Cookie;
use super::error::DistError;
use super::frame::{self, FrameError};
use super::name::NodeName;

/// The port EPMD listens on unless `ERL_EPMD_PORT` says otherwise, as for erl.
pub const EPMD_PORT: u16 = 4369;

/// How many messages a subscribed pid keeps unread before further ones are dropped.
pub const INBOX_LIMIT: usize = 100_000;

/// How the connection is made and watched.
#[derive(Clone, Debug)]
pub struct Options {
    pub epmd_port: u16,
    /// For EPMD, the TCP connect and the handshake together.
    pub connect_timeout: Duration,
    /// How often a tick is sent, as net_ticktime / 4 with OTP's default of 60 s.
    pub tick: Duration,
    /// How long a silent node is trusted before it counts as split off.
    pub silence: Duration,
}

impl Default for Options {
    fn default() -> Options {
        let epmd_port = std::env::var("ERL_EPMD_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(EPMD_PORT);
        Options {
            epmd_port,
            connect_timeout: Duration::from_secs(5),
            tick: Duration::from_secs(15),
            silence: Duration::from_secs(60),
        }
    }
}

/// A local pid whose incoming messages can be read: the trace relay's sink, an evaluator's
/// reply address. Dropping it frees the pid.
pub struct Mailbox {
    pub pid: eetf::Pid,
    pub rx: mpsc::Receiver<W>,
    conn: Connection,
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        self.conn
            .shared
            .inboxes
            .lock()
            .unwrap()
            .remove(&self.pid.id);
    }
}

/// A live connection; clones share it. It closes when the last clone is dropped or on
/// [`Connection::close`].
#[derive(Clone)]
pub struct Connection {
    shared: Arc<Shared>,
}

struct Shared {
    peer: NodeName,
    peer_text: String,
    local: String,
    creation: u32,
    out: mpsc::UnboundedSender<Message>,
    /// Replies awaited, by the reference the request carried.
    pending: Mutex<HashMap<Vec<u32>, oneshot::Sender<W>>>,
    inboxes: Mutex<HashMap<u32, mpsc::Sender<W>>>,
    next: AtomicU32,
    /// Set once, with the reason, when the connection ends.
    down: watch::Sender<Option<DistError>>,
    heard: AtomicU64,
    started: Instant,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        for t in self.tasks.get_mut().unwrap().drain(..) {
            t.abort();
        }
    }
}

/// The pid id of the connection's own process, the sender of calls and signals.
const SELF_ID: u32 = 1;

/// Looks `peer` up in EPMD, connects and shakes hands as a hidden node.
pub async fn connect(
    peer: &NodeName,
    cookie: &Cookie,
    opts: &Options,
) -> Result<Connection, DistError> {
    let node = peer.to_string();
    let timed_out = || DistError::Timeout {
        node: node.clone(),
        after: opts.connect_timeout,
    };
    tokio::time::timeout(opts.connect_timeout, handshake(peer, cookie, opts))
        .await
        .map_err(|_| timed_out())?
        .map(|(stream, creation, local)| start(peer.clone(), stream, creation, local, opts))
}

async fn handshake(
    peer: &NodeName,
    cookie: &Cookie,
    opts: &Options,
) -> Result<(TcpStream, u32, String), DistError> {
    let node = peer.to_string();
    let no_epmd = || DistError::NoEpmd {
        host: peer.host.clone(),
        port: opts.epmd_port,
    };
    let epmd = TcpStream::connect((peer.host.as_str(), opts.epmd_port))
        .await
        .map_err(|_| no_epmd())?;
    let entry = erl_dist::epmd::EpmdClient::new(epmd.compat())
        .get_node(&peer.name)
        .await
        .map_err(|e| DistError::Protocol {
            node: format!("EPMD on {}", peer.host),
            what: e.to_string(),
        })?
        .ok_or_else(|| DistError::UnknownNode {
            name: peer.name.clone(),
            host: peer.host.clone(),
        })?;
    let stream = TcpStream::connect((peer.host.as_str(), entry.port))
        .await
        .map_err(|_| DistError::NodeDown { node: node.clone() })?;
    let _ = stream.set_nodelay(true);
    let local = local_name();
    let creation = Creation::random();
    let name = local
        .parse()
        .map_err(|_| DistError::BadName(local.clone()))?;
    let mut me = LocalNode::new(name, creation);
    // Monitors of remote processes (the evaluator's `:DOWN`), and SEND_SENDER for the sends
    // that name their sender; no atom cache and no fragments, so every frame the node sends
    // is one pass-through message.
    me.flags |= DistributionFlags::DIST_MONITOR
        | DistributionFlags::DIST_MONITOR_NAME
        | DistributionFlags::SEND_SENDER;
    let mut hs = ClientSideHandshake::new(stream.compat(), me, cookie.secret());
    let refused = |e: HandshakeError| match e {
        // The node closes the socket without a word when our digest does not match its cookie.
        HandshakeError::Io(_) | HandshakeError::CookieMismatch => {
            DistError::WrongCookie { node: node.clone() }
        }
        other => DistError::Refused {
            node: node.clone(),
            why: other.to_string(),
        },
    };
    match hs
        .execute_send_name(erl_dist::HIGHEST_DISTRIBUTION_PROTOCOL_VERSION)
        .await
    {
        Ok(HandshakeStatus::Ok | HandshakeStatus::OkSimultaneous | HandshakeStatus::Alive) => {}
        Ok(status) => {
            return Err(DistError::Refused {
                node,
                why: format!("{status:?}"),
            });
        }
        Err(HandshakeError::Io(_)) => return Err(DistError::NodeDown { node }),
        Err(e) => return Err(refused(e)),
    }
    let (stream, _peer) = hs.execute_rest(true).await.map_err(refused)?;
    Ok((stream.into_inner(), creation.get(), local))
}

/// `otplab-<os pid>-<n>@<host>`: unique on this host, as iex --remsh names itself.
fn local_name() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .and_then(|h| h.trim().split('.').next().map(str::to_string))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    format!(
        "otplab-{}-{}@{host}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn start(
    peer: NodeName,
    stream: TcpStream,
    creation: u32,
    local: String,
    opts: &Options,
) -> Connection {
    let (out, rx) = mpsc::unbounded_channel();
    let (down, _) = watch::channel(None);
    let shared = Arc::new(Shared {
        peer_text: peer.to_string(),
        peer,
        local,
        creation,
        out,
        pending: Mutex::new(HashMap::new()),
        inboxes: Mutex::new(HashMap::new()),
        next: AtomicU32::new(SELF_ID + 1),
        down,
        heard: AtomicU64::new(0),
        started: Instant::now(),
        tasks: Mutex::new(Vec::new()),
    });
    let (read, write) = stream.into_split();
    let weak = Arc::downgrade(&shared);
    let reader = tokio::spawn(read_loop(read, weak.clone()));
    let writer = tokio::spawn(write_loop(write, rx, weak, opts.clone()));
    shared.tasks.lock().unwrap().extend([reader, writer]);
    Connection { shared }
}

async fn read_loop(mut read: tokio::net::tcp::OwnedReadHalf, shared: std::sync::Weak<Shared>) {
    loop {
        let got = frame::read(&mut read).await;
        let Some(s) = shared.upgrade() else { return };
        s.heard
            .store(s.started.elapsed().as_millis() as u64, Ordering::Relaxed);
        match got {
            Ok(None) => {}
            Ok(Some(m)) => s.route(m),
            Err(e) => {
                let node = s.peer_text.clone();
                s.end(match e {
                    FrameError::Closed | FrameError::Io(_) => DistError::NodeDown { node },
                    FrameError::Bad(what) => DistError::Protocol { node, what },
                });
                return;
            }
        }
    }
}

async fn write_loop(
    mut write: tokio::net::tcp::OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Message>,
    shared: std::sync::Weak<Shared>,
    opts: Options,
) {
    let mut ticks = tokio::time::interval(opts.tick);
    ticks.tick().await;
    loop {
        let m = tokio::select! {
            m = rx.recv() => match m { Some(m) => m, None => return },
            _ = ticks.tick() => {
                let Some(s) = shared.upgrade() else { return };
                let now = s.started.elapsed().as_millis() as u64;
                let heard = s.heard.load(Ordering::Relaxed);
                if Duration::from_millis(now.saturating_sub(heard)) > opts.silence {
                    s.end(DistError::Timeout { node: s.peer_text.clone(), after: opts.silence });
                    return;
                }
                Message::Tick
            }
        };
        if frame::write(&mut write, m).await.is_err() {
            if let Some(s) = shared.upgrade() {
                s.end(DistError::NodeDown {
                    node: s.peer_text.clone(),
                });
            }
            return;
        }
    }
}

impl Shared {
    fn pid(&self, id: u32) -> eetf::Pid {
        eetf::Pid::new(self.local.as_str(), id, 0, self.creation)
    }

    fn route(&self, m: Message) {
        let (to, msg) = match m {
            Message::Send(m) => (m.to_pid.id, m.message),
            Message::SendSender(m) => (m.to_pid.id, m.message),
            Message::SendTt(m) => (m.to_pid.id, m.message),
            Message::SendSenderTt(m) => (m.to_pid.id, m.message),
            Message::MonitorPExit(m) => (
                m.to_pid.id,
                down_message(m.reference, m.from_proc, m.reason),
            ),
            Message::PayloadMonitorPExit(m) => (
                m.to_pid.id,
                down_message(m.reference, m.from_proc, m.reason),
            ),
            // Links, exits to the connection's pids and spawn replies are not used: otplab
            // never links to a remote process.
            _ => return,
        };
        if let W::Tuple(t) = &msg {
            if let [W::Reference(r), _] = t.elements.as_slice() {
                if let Some(waiting) = self.pending.lock().unwrap().remove(&r.id) {
                    let W::Tuple(mut t) = msg else { unreachable!() };
                    let _ = waiting.send(t.elements.pop().unwrap_or(W::from(eetf::List::nil())));
                    return;
                }
            }
        }
        if let Some(inbox) = self.inboxes.lock().unwrap().get(&to) {
            // A full inbox drops the message rather than grow without bound.
            let _ = inbox.try_send(msg);
        }
    }

    fn end(&self, why: DistError) {
        self.down.send_if_modified(|d| {
            if d.is_none() {
                *d = Some(why);
                true
            } else {
                false
            }
        });
        // Waiting calls see their sender dropped and report the reason.
        self.pending.lock().unwrap().clear();
        self.inboxes.lock().unwrap().clear();
    }
}

fn down_message(reference: eetf::Reference, from: erl_dist::term::PidOrAtom, reason: W) -> W {
    let from = W::from(from);
    W::from(eetf::Tuple::from(vec![
        W::from(eetf::Atom::from("DOWN")),
        W::from(reference),
        W::from(eetf::Atom::from("process")),
        from,
        reason,
    ]))
}

impl Connection {
    /// The node this connection is to.
    pub fn peer(&self) -> &NodeName {
        &self.shared.peer
    }

    /// The name otplab has on the node (`otplab-123-0@host`).
    pub fn local_name(&self) -> &str {
        &self.shared.local
    }

    /// Why the connection ended, once it has.
    pub fn down_reason(&self) -> Option<DistError> {
        self.shared.down.borrow().clone()
    }

    /// Resolves when the connection ends, with the reason.
    pub async fn closed(&self) -> DistError {
        let mut rx = self.shared.down.subscribe();
        loop {
            if let Some(why) = rx.borrow_and_update().clone() {
                return why;
            }
            if rx.changed().await.is_err() {
                return self.gone();
            }
        }
    }

    fn gone(&self) -> DistError {
        DistError::NodeDown {
            node: self.shared.peer_text.clone(),
        }
    }

    /// Closes the connection: the node sees otplab's hidden node go down.
    pub fn close(&self) {
        self.shared.end(self.gone());
        for t in self.shared.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    fn post(&self, m: Message) -> Result<(), DistError> {
        if let Some(why) = self.down_reason() {
            return Err(why);
        }
        self.shared.out.send(m).map_err(|_| self.gone())
    }

    /// The connection's own pid, the sender of its calls and signals.
    pub fn self_pid(&self) -> eetf::Pid {
        self.shared.pid(SELF_ID)
    }

    /// A fresh reference of otplab's node.
    pub fn make_ref(&self) -> eetf::Reference {
        let n = self.shared.next.fetch_add(1, Ordering::Relaxed);
        eetf::Reference {
            node: eetf::Atom::from(self.shared.local.as_str()),
            id: vec![n, self.shared.creation, 0],
            creation: self.shared.creation,
        }
    }

    /// A new local pid whose messages arrive in the returned mailbox.
    pub fn mailbox(&self) -> Mailbox {
        let id = self.shared.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(INBOX_LIMIT);
        self.shared.inboxes.lock().unwrap().insert(id, tx);
        Mailbox {
            pid: self.shared.pid(id),
            rx,
            conn: self.clone(),
        }
    }

    /// `send(pid, msg)`.
    pub fn send(&self, to: &eetf::Pid, msg: W) -> Result<(), DistError> {
        self.post(Message::send_sender(self.self_pid(), to.clone(), msg))
    }

    /// `send(name, msg)` to a name registered on the node.
    pub fn send_named(&self, name: &str, msg: W) -> Result<(), DistError> {
        self.post(Message::reg_send(
            self.self_pid(),
            eetf::Atom::from(name),
            msg,
        ))
    }

    /// `Process.exit(pid, reason)` from the connection's pid.
    pub fn exit(&self, to: &eetf::Pid, reason: W) -> Result<(), DistError> {
        self.post(Message::exit2(self.self_pid(), to.clone(), reason))
    }

    /// Monitors `to` from the mailbox's pid: its `:DOWN` arrives there.
    pub fn monitor(&self, from: &eetf::Pid, to: &eetf::Pid) -> Result<eetf::Reference, DistError> {
        let r = self.make_ref();
        self.post(Message::monitor_p(
            from.clone(),
            erl_dist::term::PidOrAtom::Pid(to.clone()),
            r.clone(),
        ))?;
        Ok(r)
    }

    /// Sends the message `build(ref)` and waits for the `{ref, reply}` that answers it.
    pub async fn request(
        &self,
        send: impl FnOnce(&eetf::Reference) -> Message,
        timeout: Duration,
    ) -> Result<W, DistError> {
        let r = self.make_ref();
        let (tx, rx) = oneshot::channel();
        self.shared.pending.lock().unwrap().insert(r.id.clone(), tx);
        if let Err(e) = self.post(send(&r)) {
            self.shared.pending.lock().unwrap().remove(&r.id);
            return Err(e);
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err(self.down_reason().unwrap_or_else(|| self.gone())),
            Err(_) => {
                self.shared.pending.lock().unwrap().remove(&r.id);
                Err(self.down_reason().unwrap_or(DistError::Timeout {
                    node: self.shared.peer_text.clone(),
                    after: timeout,
                }))
            }
        }
    }

    /// `:rpc.call(node, m, f, args, timeout)`, through the node's `rex` server as a
    /// `gen_server` call. `{:badrpc, reason}` is an error.
    pub async fn call(
        &self,
        m: &str,
        f: &str,
        args: Vec<W>,
        timeout: Duration,
    ) -> Result<W, DistError> {
        let reply = self.call_raw(m, f, args, timeout).await?;
        match &reply {
            W::Tuple(t) if matches!(t.elements.as_slice(), [W::Atom(a), _] if a.name == "badrpc") => {
                Err(DistError::BadRpc(
                    super::convert::View {
                        home: &self.shared.peer_text,
                    }
                    .term(&t.elements[1])
                    .to_string(),
                ))
            }
            _ => Ok(reply),
        }
    }

    /// As [`Connection::call`], with `{:badrpc, reason}` returned as the reply it is.
    pub async fn call_raw(
        &self,
        m: &str,
        f: &str,
        args: Vec<W>,
        timeout: Duration,
    ) -> Result<W, DistError> {
        let me = self.self_pid();
        let request = W::from(eetf::Tuple::from(vec![
            W::from(eetf::Atom::from("call")),
            W::from(eetf::Atom::from(m)),
            W::from(eetf::Atom::from(f)),
            W::from(eetf::List::from(args)),
            W::from(eetf::Atom::from("user")),
        ]));
        let reply = self
            .request(
                |r| {
                    let from = W::from(eetf::Tuple::from(vec![
                        W::from(me.clone()),
                        W::from(r.clone()),
                    ]));
                    let call = W::from(eetf::Tuple::from(vec![
                        W::from(eetf::Atom::from("$gen_call")),
                        from,
                        request,
                    ]));
                    Message::reg_send(me.clone(), eetf::Atom::from("rex"), call)
                },
                timeout,
            )
            .await?;
        Ok(reply)
    }
}
