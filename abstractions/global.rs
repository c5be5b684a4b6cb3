// SPDX-License-Identifier: GPL-2.0

//! A module-global mutex, initialised when first locked.
//!
//! C header: [`include/linux/mutex.h`](srctree/include/linux/mutex.h) (C: `DEFINE_MUTEX`)
//!
//! 7.3's `global_lock!` needs an `unsafe` call to initialise the lock before its first use;
//! [`GlobalMutex`] initialises itself instead, the first time it is locked, so that a
//! `static` mutex needs no `unsafe` in the driver. Declare one with [`global_mutex!`].

use core::{
    cell::UnsafeCell,
    mem::MaybeUninit, //
};

use kernel::{
    prelude::*,
    processor::cpu_relax,
    str::CStr,
    sync::{
        atomic::{
            Acquire,
            Atomic,
            Full,
            Release, //
        },
        LockClassKey,
        Mutex,
        MutexGuard, //
    },
};

/// `state`: nothing initialised yet.
const UNINIT: u32 = 0;
/// `state`: one thread is initialising the mutex (a short section that does not sleep).
const BUSY: u32 = 1;
/// `state`: the mutex is initialised.
const READY: u32 = 2;

/// A mutex in a `static`, initialised when first locked (C: `DEFINE_MUTEX`).
///
/// # Invariants
///
/// - `mutex` is initialised exactly once, by the thread that moved `state` from `UNINIT`
///   to `BUSY`, which then stores `READY` (with release ordering); it is never written
///   again, and never moved (it is in a `static`).
/// - Once `state` is `READY`, `mutex` is initialised.
pub(crate) struct GlobalMutex<T: 'static> {
    state: Atomic<u32>,
    mutex: UnsafeCell<MaybeUninit<Mutex<T>>>,
    /// Makes the initial value.
    value: fn() -> T,
    name: &'static CStr,
    key: Pin<&'static LockClassKey>,
}

// SAFETY: Sharing a `GlobalMutex` shares its `Mutex<T>` (`Sync` for `T: Send`); the one
// write to `mutex` is serialised by `state` (type invariant), and `value` is a plain
// function that each initialising thread calls for itself.
unsafe impl<T: Send> Sync for GlobalMutex<T> {}

impl<T: 'static> GlobalMutex<T> {
    /// A mutex whose data starts as `value()`, named `name` for lockdep with class `key`.
    /// Use [`global_mutex!`], which supplies the name and a class.
    pub(crate) const fn new(
        value: fn() -> T,
        name: &'static CStr,
        key: Pin<&'static LockClassKey>,
    ) -> Self {
        // INVARIANT: `state` is `UNINIT`, `mutex` not initialised.
        Self {
            state: Atomic::new(UNINIT),
            mutex: UnsafeCell::new(MaybeUninit::uninit()),
            value,
            name,
            key,
        }
    }

    /// Locks the mutex (C: `mutex_lock`), initialising it first if nobody has yet.
    pub(crate) fn lock(&'static self) -> MutexGuard<'static, T> {
        self.get().lock()
    }

    /// The initialised mutex.
    fn get(&'static self) -> &'static Mutex<T> {
        if self.state.load(Acquire) != READY {
            self.init();
        }
        // SAFETY: `state` was seen `READY` with acquire ordering (above or in `init`), after
        // the initialising thread's release store, so `mutex` is initialised (type
        // invariant) and never written again; it is `'static`.
        unsafe { &*self.mutex.get().cast::<Mutex<T>>() }
    }

    /// Initialises the mutex unless another thread does or did; returns once it is
    /// initialised.
    #[cold]
    fn init(&'static self) {
        // The initial value may allocate (sleep): made before the section others wait for.
        let value = (self.value)();
        loop {
            match self.state.cmpxchg(UNINIT, BUSY, Full) {
                Ok(_) => break,
                Err(READY) => {
                    // Another thread's, done: make sure its writes are seen (`state` never
                    // changes again). `value` is not needed.
                    let _ = self.state.load(Acquire);
                    return;
                }
                // Another thread is in the short section below.
                Err(_) => cpu_relax(),
            }
        }
        let slot = self.mutex.get().cast::<Mutex<T>>();
        // SAFETY: This thread moved `state` to `BUSY`, so it alone writes `mutex`, once (type
        // invariant), and nobody reads it before `READY`. `slot` is valid, aligned,
        // uninitialised `'static` memory that never moves, as a pinned initialiser needs.
        unsafe { pin_init::raw_init(slot, Mutex::new(value, self.name, self.key)) };
        // INVARIANT: `mutex` is initialised.
        self.state.store(READY, Release);
    }
}

/// Declares a `static` [`GlobalMutex`]:
/// `global_mutex! { static NAME: Type = initial_value; }`. The initial value is computed
/// when the mutex is first locked.
macro_rules! global_mutex {
    ($(#[$meta:meta])* $vis:vis static $name:ident: $ty:ty = $value:expr;) => {
        $(#[$meta])*
        $vis static $name: $crate::abstractions::global::GlobalMutex<$ty> =
            $crate::abstractions::global::GlobalMutex::new(
                || $value,
                ::kernel::c_str!(::core::stringify!($name)),
                ::kernel::static_lock_class!(),
            );
    };
}
pub(crate) use global_mutex;
