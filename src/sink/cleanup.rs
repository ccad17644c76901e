//! Remove unfinished temporary files when the process is told to stop (SIGINT, SIGTERM,
//! SIGHUP), then die of that signal as if no handler had been installed.
//!
//! A flag polled by the writer loop would not do: an export can wait minutes inside the
//! server (a lock, a long sort) without reading a byte. So the handler does the cleanup
//! itself, with only async-signal-safe calls: `unlink` of paths prepared beforehand as C
//! strings in a fixed table of atomics, then `raise` with the default disposition (the
//! handler is installed with `SA_RESETHAND | SA_NODEFER`). Dying of the signal, rather
//! than `_exit(128 + signo)`, lets a shell running `usagectl` in a script see the
//! interrupt and stop the script too; `$?` still reads 130 / 143.
use std::ffi::{CString, c_char, c_int};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;
use std::sync::Once;
use std::sync::atomic::{AtomicPtr, Ordering};

/// The signals that remove the temporary files.
const SIGNALS: [c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// Temporary files to remove on a signal: a data file and its manifest at most at once,
/// with room to spare. A file that finds no free slot is still removed on every other path.
static PENDING: [AtomicPtr<c_char>; 8] = [const { AtomicPtr::new(ptr::null_mut()) }; 8];

static INSTALL: Once = Once::new();

extern "C" fn on_signal(signo: c_int) {
    for slot in &PENDING {
        let path = slot.load(Ordering::SeqCst);
        if !path.is_null() {
            // SAFETY: a NUL-terminated string that is never freed (see `Registration`)
            unsafe { libc::unlink(path) };
        }
    }
    // SAFETY: async-signal-safe calls only. SA_RESETHAND restored the default action and
    // SA_NODEFER left the signal unblocked, so `raise` ends the process here; `_exit` is
    // the fallback should it return.
    unsafe {
        libc::raise(signo);
        libc::_exit(128 + signo);
    }
}

/// Install the handler for each of [`SIGNALS`] that is not ignored (`nohup`, or a
/// background job of a non-interactive shell, must keep ignoring what it ignores).
fn install() {
    for signo in SIGNALS {
        // SAFETY: plain sigaction calls on zeroed, then filled, structs
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signo, ptr::null(), &mut old) != 0
                || old.sa_sigaction == libc::SIG_IGN
            {
                continue;
            }
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESETHAND | libc::SA_NODEFER;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signo, &action, ptr::null_mut());
        }
    }
}

/// A path the signal handler removes, until this is dropped.
#[derive(Debug)]
pub struct Registration {
    slot: Option<usize>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            // The string is leaked, not freed: a handler running on another thread may be
            // reading it right now. A few bytes per file written.
            PENDING[i].store(ptr::null_mut(), Ordering::SeqCst);
        }
    }
}

/// The signals of [`SIGNALS`] blocked on this thread until dropped; a signal that
/// arrives meanwhile is delivered (and handled) then.
pub struct Blocked {
    old: libc::sigset_t,
}

impl Blocked {
    /// Block [`SIGNALS`] on this thread (installing the handler first, once).
    pub fn new() -> Blocked {
        INSTALL.call_once(install);
        // SAFETY: sigset manipulation on local, initialised sets
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for signo in SIGNALS {
                libc::sigaddset(&mut set, signo);
            }
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
            Blocked { old }
        }
    }

    /// Have the handler remove `path` (which must stay valid until the registration is
    /// dropped). Call while the signals are blocked, right after creating the file, so
    /// that no signal finds the file made and not yet registered.
    pub fn register(&self, path: &Path) -> Registration {
        let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
            return Registration { slot: None };
        };
        let raw = c.into_raw();
        for (i, slot) in PENDING.iter().enumerate() {
            if slot
                .compare_exchange(ptr::null_mut(), raw, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                return Registration { slot: Some(i) };
            }
        }
        // SAFETY: `raw` came from `into_raw` above and was published nowhere
        drop(unsafe { CString::from_raw(raw) });
        Registration { slot: None }
    }
}

impl Drop for Blocked {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved by `new`
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, ptr::null_mut());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_take_and_free_slots() {
        let blocked = Blocked::new();
        let a = blocked.register(Path::new("/nonexistent/a"));
        let b = blocked.register(Path::new("/nonexistent/b"));
        assert!(a.slot.is_some() && b.slot.is_some());
        assert_ne!(a.slot, b.slot);
        let i = a.slot.unwrap_or_default();
        let held = |i: usize| {
            let p = PENDING[i].load(Ordering::SeqCst);
            // SAFETY: non-null entries are leaked, NUL-terminated strings
            (!p.is_null()).then(|| unsafe { std::ffi::CStr::from_ptr(p) }.to_owned())
        };
        assert_eq!(held(i).as_deref(), Some(c"/nonexistent/a"));
        drop(a);
        // free again (or already taken by another test's file)
        assert_ne!(held(i).as_deref(), Some(c"/nonexistent/a"));
        drop(b);
    }
}
