//! The worker's global allocator: the system allocator, except that a failed
//! allocation first hands every guarded page back to the origin's bytes.
//!
//! Out of memory, Rust aborts (a trap) without running the panic hook, so the
//! hook alone would leave pages in flight stalled; this makes an allocation
//! failure take the same way out as a panic (`guard.js`). Nothing here
//! allocates: the failure path only calls into JavaScript.
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// [`System`], with an allocation failure reported to the page guard first.
pub struct GuardedAlloc;

/// Requests of at least this many bytes fail (fault injection; `usize::MAX`: none).
static REFUSE_FROM: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Fault injection: from now on, requests of at least `bytes` fail as if the
/// instance were out of memory (`FAULT_INJECTION = "oom-after-bytes:N"`).
pub fn refuse_allocations_from(bytes: usize) {
    REFUSE_FROM.store(bytes, Ordering::Relaxed);
}

/// `ptr`, after telling the guard when it is null (the caller then aborts).
fn reported(ptr: *mut u8, layout: Layout) -> *mut u8 {
    if ptr.is_null() {
        super::guard::out_of_memory(layout.size() as f64);
    }
    ptr
}

fn refused(size: usize) -> bool {
    size >= REFUSE_FROM.load(Ordering::Relaxed)
}

// SAFETY: every call is forwarded to `System` with the same arguments, or
// answered with null (allocation failure), which the contract allows.
unsafe impl GlobalAlloc for GuardedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if refused(layout.size()) {
            return reported(std::ptr::null_mut(), layout);
        }
        reported(unsafe { System.alloc(layout) }, layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if refused(layout.size()) {
            return reported(std::ptr::null_mut(), layout);
        }
        reported(unsafe { System.alloc_zeroed(layout) }, layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` with `layout.align()` is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if refused(new_size) {
            return reported(std::ptr::null_mut(), new_layout);
        }
        reported(unsafe { System.realloc(ptr, layout, new_size) }, new_layout)
    }
}
