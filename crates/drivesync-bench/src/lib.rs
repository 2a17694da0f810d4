//! What drivesync's benchmarks share (`cargo bench` targets in several crates): reading
//! their `--name value` options, and a process's CPU time and resident memory on Linux.

/// The value of option `--name N` on the command line (`name` with its dashes), or
/// `default` when it is absent or not a number.
pub fn arg(name: &str, default: u64) -> u64 {
    arg_in(std::env::args(), name, default)
}

fn arg_in(args: impl Iterator<Item = String>, name: &str, default: u64) -> u64 {
    let args: Vec<String> = args.collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// User + system CPU time of process `pid` so far, in clock ticks (100 a second on Linux);
/// 0 when it is gone.
pub fn cpu_ticks(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let Some(end) = stat.rfind(')') else { return 0 };
    let f: Vec<&str> = stat[end + 2..].split(' ').collect();
    let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    field(11) + field(12)
}

/// The resident memory of process `pid` in KiB (`VmRSS`); 0 when it is gone.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_read_by_name_with_a_default() {
        let args = || {
            ["bench", "--files", "10", "--bad", "x"]
                .map(String::from)
                .into_iter()
        };
        assert_eq!(arg_in(args(), "--files", 5), 10);
        assert_eq!(arg_in(args(), "--bad", 5), 5);
        assert_eq!(arg_in(args(), "--none", 5), 5);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_cpu_time_and_memory() {
        let me = std::process::id();
        // Spin until the kernel has counted a tick of CPU time (10 ms), at most 2 s.
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while cpu_ticks(me) == 0 && start.elapsed().as_secs() < 2 {
            for i in 0..100_000u64 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            }
        }
        assert!(cpu_ticks(me) > 0);
        assert!(rss_kib(me) > 0);
        assert_eq!(rss_kib(u32::MAX), 0);
        assert_eq!(cpu_ticks(u32::MAX), 0);
    }
}
