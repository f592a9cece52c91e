//! The mailbox of one process: an unbounded queue with an observable length, a single
//! receiver, and selective receive. It is a plain `VecDeque` behind a mutex rather than a
//! channel so that an idle process costs nothing beyond the struct (no preallocated block),
//! `message_queue_len` is exact at any moment, and a receiver can scan past messages it does
//! not want yet, as `receive` with patterns does on the BEAM.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use super::pid::Pid;
use super::reply::From;
use super::term::Term;

/// What sits in a mailbox. Calls and casts keep their kind so a trace can label them and a
/// GenServer can answer them; everything else is a plain message.
pub enum Envelope {
    /// A plain message: `send/2`, `{:EXIT, …}` of a trapping process, `{:DOWN, …}`.
    Message(Term),
    /// `GenServer.call`: the request and where to send the reply.
    Call { from: From, request: Term },
    /// `GenServer.cast`.
    Cast(Term),
    /// A request of the runtime itself (`:sys.get_state`), answered by the GenServer loop.
    System(SystemRequest),
}

/// Requests that every GenServer answers without its callbacks being involved.
pub enum SystemRequest {
    /// `:sys.get_state`.
    GetState(tokio::sync::oneshot::Sender<Term>),
    /// Makes the process raise, as a bug in a callback would (the shell's `crash`).
    Crash,
    /// `GenServer.stop` / `Supervisor.stop`: terminate in order and exit with the reason.
    /// Boxed: an exception's reason is larger than a term, and every queued message pays for
    /// the largest variant of an envelope, while a stop is sent once in a process's life.
    Stop(Box<super::exit::ExitReason>),
}

impl Envelope {
    /// The envelope as the BEAM would show it in `Process.info(pid, :messages)`.
    pub fn to_term(&self) -> Term {
        match self {
            Envelope::Message(t) => t.clone(),
            Envelope::Call { from, request } => Term::tuple(vec![
                super::term::atom("$gen_call"),
                from.to_term(),
                request.clone(),
            ]),
            Envelope::Cast(t) => Term::tuple(vec![super::term::atom("$gen_cast"), t.clone()]),
            Envelope::System(_) => Term::tuple(vec![super::term::atom("system")]),
        }
    }

    /// The `{:EXIT, pid, reason}` fields of a trapped exit message.
    pub fn as_exit(&self) -> Option<(Pid, &Term)> {
        match self {
            Envelope::Message(Term::Tuple(t))
                if t.len() == 3 && t[0].is_atom("EXIT") && matches!(t[1], Term::Pid(_)) =>
            {
                Some((t[1].as_pid().unwrap(), &t[2]))
            }
            _ => None,
        }
    }
}

struct Inner {
    queue: VecDeque<Envelope>,
    /// The owner's waker, kept from one wait to the next: a push wakes it by reference, so
    /// the next wait need not clone it again (each clone and each drop of a task's waker is a
    /// locked instruction on its reference count, two of them for every message).
    waker: Option<Waker>,
    /// The owner has scanned every queued message and waits for the next one; only then does
    /// a push wake it.
    parked: bool,
    closed: bool,
    /// Messages ever delivered, counted under the lock the push already holds, so that a
    /// live view can show messages per second without a shared counter on every send.
    received: u64,
}

/// The queue itself, owned by the process entry so senders reach it through the process table.
pub(crate) struct Mailbox {
    inner: Mutex<Inner>,
}

impl Mailbox {
    pub fn new() -> Mailbox {
        Mailbox {
            inner: Mutex::new(Inner {
                queue: VecDeque::new(),
                waker: None,
                parked: false,
                closed: false,
                received: 0,
            }),
        }
    }

    /// Appends a message; gives it back when the process is already dead.
    pub fn push(&self, env: Envelope) -> Result<(), Envelope> {
        let mut inner = self.inner.lock().unwrap();
        if inner.closed {
            return Err(env);
        }
        // The first message gets room for exactly one. A queue's smallest growth is four
        // envelopes (320 bytes), which every process that was ever sent a message kept
        // for the rest of its life; most never hold more than one at a time.
        if inner.queue.capacity() == 0 {
            inner.queue.reserve_exact(1);
        }
        inner.queue.push_back(env);
        inner.received += 1;
        if std::mem::take(&mut inner.parked)
            && let Some(w) = &inner.waker
        {
            // Woken under the lock, by reference: waking outside it would need a clone of
            // the waker, the very instruction that keeping it saves. A wake only marks the
            // task and queues it.
            w.wake_by_ref();
        }
        Ok(())
    }

    /// True when the owner has nothing new to look at: the queue is empty, or it has
    /// scanned every queued message and is parked until the next one arrives.
    pub fn parked(&self) -> bool {
        let inner = self.inner.lock().unwrap();
        inner.queue.is_empty() || inner.parked
    }

    pub fn len(&self) -> usize {
        self.inner.lock().unwrap().queue.len()
    }

    /// The queue's length and how many messages were ever delivered, under one lock.
    pub fn counts(&self) -> (usize, u64) {
        let inner = self.inner.lock().unwrap();
        (inner.queue.len(), inner.received)
    }

    /// The queued messages as terms, oldest first.
    pub fn snapshot(&self, limit: usize) -> Vec<Term> {
        self.inner
            .lock()
            .unwrap()
            .queue
            .iter()
            .take(limit)
            .map(Envelope::to_term)
            .collect()
    }

    /// Closes the mailbox at death and hands back what was queued, so it is dropped outside
    /// the lock (dropping a pending call wakes its caller).
    pub fn close(&self) -> VecDeque<Envelope> {
        let mut inner = self.inner.lock().unwrap();
        inner.closed = true;
        inner.parked = false;
        inner.waker = None;
        std::mem::take(&mut inner.queue)
    }

    /// Removes and returns the first queued envelope matching `pred`, without waiting.
    pub fn remove_where(&self, mut pred: impl FnMut(&Envelope) -> bool) -> Option<Envelope> {
        let mut inner = self.inner.lock().unwrap();
        let i = inner.queue.iter().position(&mut pred)?;
        inner.queue.remove(i)
    }

    /// Removes every queued envelope matching `pred` in one pass, keeping the others in order.
    pub fn remove_all_where(&self, mut pred: impl FnMut(&Envelope) -> bool) -> Vec<Envelope> {
        let mut inner = self.inner.lock().unwrap();
        let mut taken = Vec::new();
        let queue = std::mem::take(&mut inner.queue);
        for env in queue {
            if pred(&env) {
                taken.push(env);
            } else {
                inner.queue.push_back(env);
            }
        }
        taken
    }

    /// Takes the oldest envelope, whatever it is: [`Mailbox::poll_take`] accepting every
    /// envelope, without its scan. A GenServer's loop waits here for every message, and the
    /// scan's predicate call and its `remove` from the middle of the queue were a third of
    /// what taking a message cost it.
    pub(crate) fn poll_take_any(&self, cx: &mut Context<'_>) -> Poll<Envelope> {
        let mut inner = self.inner.lock().unwrap();
        if let Some(env) = inner.queue.pop_front() {
            // No longer parked: `parked` must not count it idle while it runs.
            inner.parked = false;
            return Poll::Ready(env);
        }
        inner.parked = true;
        match &inner.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => inner.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Takes the oldest envelope, or the oldest one at or after `start` for which `accept`
    /// holds. Registers the waker when there is none.
    pub(crate) fn poll_take(
        &self,
        cx: &mut Context<'_>,
        scanned: &mut usize,
        accept: &mut dyn FnMut(&Envelope) -> bool,
    ) -> Poll<Envelope> {
        let mut inner = self.inner.lock().unwrap();
        let len = inner.queue.len();
        let mut i = (*scanned).min(len);
        while i < len {
            if accept(&inner.queue[i]) {
                *scanned = 0;
                // No longer parked: `parked` must not count it idle while it runs.
                inner.parked = false;
                return Poll::Ready(inner.queue.remove(i).unwrap());
            }
            i += 1;
        }
        *scanned = len;
        inner.parked = true;
        match &inner.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => inner.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

/// The future of one `receive`: the first envelope `accept` takes. Messages it skips stay
/// queued in order, and are not scanned again while it waits.
pub(crate) struct Receive<'a, F: FnMut(&Envelope) -> bool> {
    pub mailbox: &'a Mailbox,
    pub accept: F,
    pub scanned: usize,
}

impl<F: FnMut(&Envelope) -> bool + Unpin> Future for Receive<'_, F> {
    type Output = Envelope;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Envelope> {
        let this = self.get_mut();
        this.mailbox
            .poll_take(cx, &mut this.scanned, &mut this.accept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every queued message pays for a whole envelope, whatever its kind, so the envelope's
    /// size is part of the memory of a queued cast (flood's scenario a asks at most 168 bytes
    /// a queued cast, the envelope and the message's term together). A `From` of one pointer
    /// keeps a call's envelope to its request, that pointer and the variant's tag, which
    /// takes a word of its own (two variants hold a whole term each): 56 bytes with a 40-byte
    /// term, 48 with a 32-byte one, 40 with the 24-byte one of today, once a stop's reason,
    /// larger than a term, is boxed. It was 64 when a `From` was three words.
    #[test]
    fn an_envelope_is_a_term_a_pointer_and_a_tag_at_most() {
        assert_eq!(size_of::<From>(), size_of::<usize>());
        assert!(
            size_of::<Envelope>() <= size_of::<Term>() + 2 * size_of::<usize>(),
            "an envelope is {} bytes, a term {}",
            size_of::<Envelope>(),
            size_of::<Term>()
        );
        assert!(
            size_of::<Envelope>() <= 40,
            "an envelope is {} bytes",
            size_of::<Envelope>()
        );
    }
}
