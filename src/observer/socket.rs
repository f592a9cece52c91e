//! `otplab observe` attaches to a running instance over a Unix socket that the instance
//! owns: `$XDG_RUNTIME_DIR/otplab/PID.sock` (or a per-user folder in the temp dir), the
//! folder readable by its user alone and the socket mode 0600, removed when the instance
//! ends. Nothing listens on the network.
//!
//! The protocol is frames of a 4-byte big-endian length and that many bytes of bincode:
//! the viewer sends [`ToInstance`] (the window of the process table it shows, the actions of
//! its keys), the instance sends [`ToViewer`] (a snapshot every [`REFRESH`]). Each side
//! refuses a frame longer than its limit before reading it, and decodes within that limit,
//! so a hostile peer costs a bounded buffer and a one-line error. The instance never waits
//! on a viewer: snapshots go through a queue of [`QUEUE`] frames, a viewer that lets it
//! fill for [`LAG_LIMIT`] samples in a row is dropped, and a write that takes longer than
//! [`WRITE_LIMIT`] ends the connection.

use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::sampler::Sampler;
use super::terminal::Source;
use super::{Action, REFRESH, Snapshot, Window, actions};
use crate::runtime::{Node, Pid};

/// The longest frame an instance reads from a viewer: a window or an action.
pub const MAX_TO_INSTANCE: usize = 64 * 1024;
/// The longest frame a viewer reads: a snapshot of a screenful.
pub const MAX_TO_VIEWER: usize = 16 * 1024 * 1024;
/// The most rows of the process table one snapshot carries, whatever a viewer asks: a
/// terminal has fewer, and a viewer asking for a million must not get them.
pub const MAX_WINDOW_ROWS: usize = 500;
/// Snapshots queued for one viewer.
pub const QUEUE: usize = 2;
/// Samples in a row that may find a viewer's queue full before it is dropped.
pub const LAG_LIMIT: u32 = 8;
/// The kernel's send buffer of a viewer's connection: a few snapshots of a screenful, so
/// that a viewer that stops reading is noticed in seconds and costs little memory.
pub const SEND_BUFFER: i32 = 32 * 1024;
/// The longest one write to a viewer may take.
pub const WRITE_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Debug, Serialize, Deserialize)]
pub enum ToInstance {
    Window(Window),
    Act(Action),
}

#[derive(Debug, Serialize, Deserialize)]
pub enum ToViewer {
    Snapshot(Box<Snapshot>),
    /// Why the instance ends the connection.
    Refused(String),
}

/// What can go wrong on a connection, each said in one line.
#[derive(Debug)]
pub enum FrameError {
    Io(io::Error),
    TooLong { declared: u64, limit: usize },
    Undecodable(String),
    Closed,
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Io(e) => write!(f, "{e}"),
            FrameError::TooLong { declared, limit } => {
                write!(
                    f,
                    "a frame of {declared} bytes is over the limit of {limit}"
                )
            }
            FrameError::Undecodable(e) => write!(f, "an undecodable frame ({e})"),
            FrameError::Closed => write!(f, "the connection was closed"),
        }
    }
}

fn config<const N: usize>() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<N>()
}

/// One frame: the length, then the payload.
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    let body = bincode::serde::encode_to_vec(msg, bincode::config::standard()).unwrap_or_default();
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// Reads one frame of at most `LIMIT` bytes and decodes it within that limit.
pub async fn read_frame<T, const LIMIT: usize>(
    r: &mut (impl AsyncRead + Unpin),
) -> Result<T, FrameError>
where
    T: for<'de> Deserialize<'de>,
{
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(FrameError::Io(e)),
    }
    let declared = u32::from_be_bytes(len) as usize;
    if declared > LIMIT {
        return Err(FrameError::TooLong {
            declared: declared as u64,
            limit: LIMIT,
        });
    }
    let mut body = vec![0u8; declared];
    r.read_exact(&mut body).await.map_err(FrameError::Io)?;
    bincode::serde::decode_from_slice(&body, config::<LIMIT>())
        .map(|(v, _)| v)
        .map_err(|e| FrameError::Undecodable(e.to_string()))
}

/// The folder of the sockets: the user's runtime folder, or a folder of the user's own in
/// the temp dir, made readable by the user alone.
pub fn folder() -> io::Result<PathBuf> {
    let dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d).join("otplab"),
        None => std::env::temp_dir().join(format!("otplab-{}", uid())),
    };
    std::fs::create_dir_all(&dir)?;
    let meta = std::fs::metadata(&dir)?;
    if meta.uid() != uid() {
        return Err(io::Error::other(format!(
            "{} belongs to another user",
            dir.display()
        )));
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    Ok(dir)
}

fn uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { nix::libc::getuid() }
}

/// The socket of the instance with process id `pid`.
pub fn socket_of(pid: u32) -> io::Result<PathBuf> {
    Ok(folder()?.join(format!("{pid}.sock")))
}

/// The instance's listener; dropping it stops listening and removes the socket.
pub struct Listening {
    pub path: PathBuf,
    task: JoinHandle<()>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Who the viewers see: the node, the shell process (whose pid the shell keeps current)
/// and the persist folder.
#[derive(Clone)]
pub struct Instance {
    pub node: Node,
    pub shell: std::sync::Arc<std::sync::atomic::AtomicU64>,
    pub persist: String,
}

/// Listens for viewers on this process's socket.
pub fn listen(instance: Instance) -> io::Result<Listening> {
    let path = socket_of(std::process::id())?;
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, instance.clone()));
        }
    });
    Ok(Listening { path, task })
}

/// One viewer: its requests read on one task, its snapshots written on another, sampled
/// here at the view's rate.
async fn serve(stream: UnixStream, instance: Instance) {
    limit_send_buffer(&stream);
    let (mut rd, mut wr) = stream.into_split();
    let (window_tx, window_rx) = watch::channel(Window::default());
    let (act_tx, mut act_rx) = mpsc::channel::<Action>(16);
    let (refuse_tx, mut refuse_rx) = mpsc::channel::<String>(1);
    let reader = tokio::spawn(async move {
        loop {
            match read_frame::<ToInstance, MAX_TO_INSTANCE>(&mut rd).await {
                Ok(ToInstance::Window(w)) => {
                    let rows = w.rows.min(MAX_WINDOW_ROWS);
                    let _ = window_tx.send(Window { rows, ..w });
                }
                Ok(ToInstance::Act(a)) => {
                    let _ = act_tx.try_send(a);
                }
                Err(FrameError::Closed) => return,
                Err(e) => {
                    let _ = refuse_tx.try_send(e.to_string());
                    return;
                }
            }
        }
    });
    let (frames_tx, mut frames_rx) = mpsc::channel::<Vec<u8>>(QUEUE);
    let writer = tokio::spawn(async move {
        while let Some(frame) = frames_rx.recv().await {
            match tokio::time::timeout(WRITE_LIMIT, wr.write_all(&frame)).await {
                Ok(Ok(())) => {}
                _ => return,
            }
        }
        let _ = wr.shutdown().await;
    });
    let shell = || Pid(instance.shell.load(std::sync::atomic::Ordering::Relaxed));
    let mut sampler = Sampler::new(&instance.node, shell(), instance.persist.clone());
    let mut tick = tokio::time::interval(REFRESH);
    let mut lagged = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            Some(a) = act_rx.recv() => actions::run(&mut sampler, shell(), a),
            Some(why) = refuse_rx.recv() => {
                let _ = frames_tx.try_send(encode(&ToViewer::Refused(why)));
                break;
            }
        }
        if reader.is_finished() && act_rx.is_empty() && refuse_rx.is_empty() {
            break;
        }
        let window = *window_rx.borrow();
        let snap = sampler.sample(window, tokio::time::Instant::now());
        match frames_tx.try_send(encode(&ToViewer::Snapshot(Box::new(snap)))) {
            Ok(()) => lagged = 0,
            Err(mpsc::error::TrySendError::Full(_)) => {
                lagged += 1;
                if lagged >= LAG_LIMIT {
                    break;
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => break,
        }
    }
    reader.abort();
    drop(frames_tx);
    // The writer ends once the queue drains, or at its write limit if the viewer hangs; it
    // is left to finish on its own.
    drop(writer);
}

fn limit_send_buffer(stream: &UnixStream) {
    use std::os::fd::AsRawFd;
    let size = SEND_BUFFER;
    // SAFETY: the descriptor is the live socket `stream` owns, and the option's value is an
    // int that lives for the call, its size given.
    unsafe {
        nix::libc::setsockopt(
            stream.as_raw_fd(),
            nix::libc::SOL_SOCKET,
            nix::libc::SO_SNDBUF,
            (&size as *const i32).cast(),
            std::mem::size_of::<i32>() as nix::libc::socklen_t,
        );
    }
}

/// Why `otplab observe` cannot attach, in one line.
#[derive(Debug)]
pub enum AttachError {
    NoInstance(PathBuf),
    Several(Vec<u32>),
    NotRunning(u32),
    Io(io::Error),
}

impl std::fmt::Display for AttachError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttachError::NoInstance(dir) => write!(
                f,
                "no running otplab to observe (no socket in {})",
                dir.display()
            ),
            AttachError::Several(pids) => {
                let list: Vec<String> = pids.iter().map(u32::to_string).collect();
                write!(
                    f,
                    "several otplab instances are running ({}); choose one with --pid",
                    list.join(", ")
                )
            }
            AttachError::NotRunning(pid) => write!(f, "no otplab with pid {pid} is listening"),
            AttachError::Io(e) => write!(f, "{e}"),
        }
    }
}

fn alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None).is_ok()
}

/// The socket of the instance to attach to: the one of `pid`, or the only one running.
/// Sockets of instances that died without removing theirs are passed over.
pub fn find(pid: Option<u32>) -> Result<PathBuf, AttachError> {
    let dir = folder().map_err(AttachError::Io)?;
    if let Some(pid) = pid {
        let path = dir.join(format!("{pid}.sock"));
        return if path.exists() && alive(pid) {
            Ok(path)
        } else {
            Err(AttachError::NotRunning(pid))
        };
    }
    let mut pids: Vec<u32> = std::fs::read_dir(&dir)
        .map_err(AttachError::Io)?
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".sock")?
                .parse::<u32>()
                .ok()
        })
        .filter(|p| *p != std::process::id() && alive(*p))
        .collect();
    pids.sort();
    match pids.as_slice() {
        [] => Err(AttachError::NoInstance(dir)),
        [one] => Ok(dir.join(format!("{one}.sock"))),
        _ => Err(AttachError::Several(pids)),
    }
}

/// The viewer's end: snapshots as they arrive, the window and actions sent back.
pub struct Remote {
    frames: mpsc::Receiver<Result<ToViewer, FrameError>>,
    out: mpsc::Sender<ToInstance>,
    window: Option<Window>,
    latest: Option<Snapshot>,
    /// Why the connection ended, once it has.
    pub ended: Option<String>,
}

impl Remote {
    pub async fn connect(path: &Path) -> io::Result<Remote> {
        let stream = UnixStream::connect(path).await?;
        let (mut rd, mut wr) = stream.into_split();
        let (frames_tx, frames) = mpsc::channel(QUEUE);
        tokio::spawn(async move {
            loop {
                let frame = read_frame::<ToViewer, MAX_TO_VIEWER>(&mut rd).await;
                let last = frame.is_err();
                if frames_tx.send(frame).await.is_err() || last {
                    return;
                }
            }
        });
        let (out, mut out_rx) = mpsc::channel::<ToInstance>(16);
        tokio::spawn(async move {
            while let Some(msg) = out_rx.recv().await {
                if wr.write_all(&encode(&msg)).await.is_err() {
                    return;
                }
            }
        });
        Ok(Remote {
            frames,
            out,
            window: None,
            latest: None,
            ended: None,
        })
    }

    /// Takes every snapshot that arrived, keeping the newest.
    fn drain(&mut self) {
        while let Ok(frame) = self.frames.try_recv() {
            match frame {
                Ok(ToViewer::Snapshot(s)) => self.latest = Some(*s),
                Ok(ToViewer::Refused(why)) => self.ended = Some(why),
                Err(FrameError::Closed) => {
                    self.ended = Some("the otplab instance ended the connection".into())
                }
                Err(e) => self.ended = Some(e.to_string()),
            }
        }
    }
}

impl Source for Remote {
    fn snapshot(&mut self, window: Window) -> Option<Snapshot> {
        if self.window != Some(window) && self.out.try_send(ToInstance::Window(window)).is_ok() {
            self.window = Some(window);
        }
        self.drain();
        if self.ended.is_some() {
            return None;
        }
        Some(self.latest.clone().unwrap_or_default())
    }

    fn act(&mut self, action: Action) {
        let _ = self.out.try_send(ToInstance::Act(action));
    }
}

impl std::error::Error for AttachError {}
impl std::error::Error for FrameError {}
