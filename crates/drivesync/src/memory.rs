//! Handing freed heap memory back to the OS after a sync.
//!
//! A first sync or a full rescan of a large pair peaks at start; glibc's allocator keeps the
//! freed pages for reuse, so an idle daemon would show that peak as its resident size for
//! good (P7 in BENCHMARKS.md). After a sync settles, the daemon asks the allocator to return
//! what is free. Elsewhere this does nothing.

/// Returns the heap's free pages to the OS (glibc `malloc_trim`). Cheap enough to call after
/// every sync; never changes what the program sees.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: malloc_trim only releases memory the allocator already holds as free; it takes
    // a plain integer, touches no caller memory and is thread-safe (it locks each arena).
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    fn rss_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn freed_small_allocations_leave_the_resident_set() {
        // 96 MiB in 1 KiB blocks: below glibc's mmap threshold, so they live in the heap.
        let blocks: Vec<Vec<u8>> = (0..96 * 1024).map(|i| vec![i as u8; 1024]).collect();
        let kept = blocks[blocks.len() - 1].clone();
        let peak = rss_kib();
        drop(blocks);
        release_freed_memory();
        let after = rss_kib();
        assert!(
            peak.saturating_sub(after) > 48 * 1024,
            "resident {peak} KiB before, {after} KiB after"
        );
        assert_eq!(kept[0], (96 * 1024 - 1) as u8);
    }
}
