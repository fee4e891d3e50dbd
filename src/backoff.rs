//! Waiting a few microseconds without sleeping. Waking a sleeping thread
//! costs a futex call, a context switch and, on a VM, an inter-processor
//! interrupt; a thread that has just finished a request usually finds the
//! next one within microseconds, so it looks for it a while first.

use crossbeam_utils::Backoff;

/// Tries `attempt` until it gives something or crossbeam's `Backoff` is
/// spent (spins, then yields of the processor: some microseconds).
pub fn briefly<T>(mut attempt: impl FnMut() -> Option<T>) -> Option<T> {
    let backoff = Backoff::new();
    loop {
        if let Some(found) = attempt() {
            return Some(found);
        }
        if backoff.is_completed() {
            return None;
        }
        backoff.snooze();
    }
}
