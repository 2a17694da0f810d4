//! Runs the deterministic simulation from the command line:
//!
//! ```text
//! cargo run -p drivesync-testkit --release --bin sim -- --cases 10000
//! cargo run -p drivesync-testkit --release --bin sim -- --seed 1234 --trace
//! cargo run -p drivesync-testkit --release --bin sim -- --script failing.txt
//! ```
//!
//! Options: `--cases N` (default 1000), `--first S` (first seed, default 0), `--seed S` (one
//! case), `--script FILE` (replay steps), `--threads N` (default: the cores), `--steps N`
//! (steps per case), `--concurrency N` (the pair setting; above 1 runs are not
//! deterministic), `--os-trash`, `--scoped` (syncs re-read only the paths the user changed, as
//! the live loop does), `--no-faults`, `--no-crashes`, `--no-during`, `--no-extras` (no permanent deletes or
//! duplicates on Drive), `--trace`
//! (print the trace of a passing `--seed` case), `--no-shrink`, `--keep-going` (report every
//! failure, not just the first), `--summary` (keep going, then shrink every failure and print
//! the shrunk steps).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use drivesync_testkit::script::{parse, to_script};
use drivesync_testkit::sim::{regression_test, run_case, run_steps, shrink, Failure, SimConfig};
use drivesync_testkit::Stats;

struct Args {
    cases: u64,
    first: u64,
    seed: Option<u64>,
    script: Option<String>,
    threads: usize,
    cfg: SimConfig,
    trace: bool,
    shrink: bool,
    keep_going: bool,
    summary: bool,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        cases: 1000,
        first: 0,
        seed: None,
        script: None,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cfg: SimConfig::default(),
        trace: false,
        shrink: true,
        keep_going: false,
        summary: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        let number = |s: String| s.parse::<u64>().map_err(|_| format!("not a number: {s}"));
        match arg.as_str() {
            "--cases" => a.cases = number(value("--cases")?)?,
            "--first" => a.first = number(value("--first")?)?,
            "--seed" => a.seed = Some(number(value("--seed")?)?),
            "--script" => a.script = Some(value("--script")?),
            "--threads" => a.threads = number(value("--threads")?)?.max(1) as usize,
            "--steps" => a.cfg.gen.steps = number(value("--steps")?)? as usize,
            "--concurrency" => a.cfg.concurrency = number(value("--concurrency")?)? as usize,
            "--os-trash" => a.cfg.os_trash = true,
            "--scoped" => a.cfg.scoped = true,
            "--no-faults" => a.cfg.gen.fault_permille = 0,
            "--no-crashes" => a.cfg.gen.crash_permille = 0,
            "--no-during" => a.cfg.gen.during_permille = 0,
            "--no-extras" => a.cfg.gen.drive_extras = false,
            "--trace" => a.trace = true,
            "--no-shrink" => a.shrink = false,
            "--keep-going" => a.keep_going = true,
            "--summary" => {
                a.keep_going = true;
                a.summary = true;
            }
            "-h" | "--help" => {
                println!("see the doc comment of crates/drivesync-testkit/src/bin/sim.rs");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

fn report(f: &Failure, a: &Args) {
    eprintln!("{f}");
    if !a.shrink {
        return;
    }
    let steps = shrink(f, &a.cfg, 3000);
    eprintln!(
        "--- shrunk to {} steps ---\n{}",
        steps.len(),
        to_script(&steps)
    );
    if let Err(g) = run_steps(&steps, &a.cfg) {
        eprintln!("--- the shrunk case fails so ---\n{}", g.message);
        eprintln!("--- its trace ---\n{}", g.log.join("\n"));
    }
    let name = match f.seed {
        Some(s) => format!("regression_seed_{s}"),
        None => "regression_script".to_owned(),
    };
    eprintln!(
        "--- regression test ---\n{}",
        regression_test(&name, f, &steps)
    );
}

fn main() {
    // The engine's own log, for replaying one script (`RUST_LOG=drivesync_engine=debug`).
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sim: {e}");
            std::process::exit(2);
        }
    };
    if let Some(path) = &a.script {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
            eprintln!("sim: cannot read {path}: {e}");
            std::process::exit(2)
        });
        let steps = parse(&text).unwrap_or_else(|e| {
            eprintln!("sim: {e}");
            std::process::exit(2)
        });
        match run_steps(&steps, &a.cfg) {
            Ok(t) => {
                println!("{}", t.log.join("\n"));
                println!("passed: {:?}", t.stats);
            }
            Err(f) => {
                report(&f, &a);
                std::process::exit(1);
            }
        }
        return;
    }
    if let Some(seed) = a.seed {
        match run_case(seed, &a.cfg) {
            Ok(t) => {
                if a.trace {
                    println!("{}", to_script(&t.steps));
                    println!("{}", t.log.join("\n"));
                }
                println!("seed {seed} passed: {:?}", t.stats);
            }
            Err(f) => {
                report(&f, &a);
                std::process::exit(1);
            }
        }
        return;
    }
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(a.first));
    let stop = Arc::new(AtomicBool::new(false));
    let failures: Arc<Mutex<Vec<Failure>>> = Arc::default();
    let total: Arc<Mutex<Stats>> = Arc::default();
    let end = a.first + a.cases;
    let threads: Vec<_> = (0..a.threads)
        .map(|_| {
            let (next, stop, failures, total) =
                (next.clone(), stop.clone(), failures.clone(), total.clone());
            let cfg = a.cfg.clone();
            let keep_going = a.keep_going;
            std::thread::spawn(move || loop {
                let seed = next.fetch_add(1, Ordering::SeqCst);
                if seed >= end || stop.load(Ordering::SeqCst) {
                    return;
                }
                match run_case(seed, &cfg) {
                    Ok(t) => {
                        if let Ok(mut s) = total.lock() {
                            *s += t.stats;
                        }
                    }
                    Err(f) => {
                        eprintln!(
                            "seed {seed}: {:?}: {}",
                            f.kind,
                            f.message.lines().next().unwrap_or("")
                        );
                        if let Ok(mut v) = failures.lock() {
                            v.push(f);
                        }
                        if !keep_going {
                            stop.store(true, Ordering::SeqCst);
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    let failures = failures.lock().map(|v| v.clone()).unwrap_or_default();
    let stats = total.lock().map(|s| *s).unwrap_or_default();
    let ran = next.load(Ordering::SeqCst).min(end) - a.first;
    println!(
        "{ran} cases from seed {} in {:.1?} ({} threads): {} failed\n{stats:?}",
        a.first,
        started.elapsed(),
        a.threads,
        failures.len()
    );
    if a.summary {
        let mut failures = failures;
        failures.sort_by_key(|f| f.seed);
        for f in &failures {
            let steps = shrink(f, &a.cfg, 600);
            let kind = run_steps(&steps, &a.cfg).err().map(|g| g.message);
            println!(
                "== seed {:?}: {:?} ({} -> {} steps)\n{}-> {}\n",
                f.seed,
                f.kind,
                f.steps.len(),
                steps.len(),
                to_script(&steps),
                kind.unwrap_or_default()
                    .lines()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
        std::process::exit(i32::from(!failures.is_empty()));
    }
    if let Some(f) = failures.iter().min_by_key(|f| f.seed) {
        report(f, &a);
        std::process::exit(1);
    }
}
