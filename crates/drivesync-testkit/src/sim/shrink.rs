//! Shrinking a failed case, and writing it as a regression test.

use super::*;

/// Simpler versions of one sync spec, simplest first.
fn simpler(s: &SyncSpec) -> Vec<SyncSpec> {
    let mut out = Vec::new();
    if *s != SyncSpec::default() {
        out.push(SyncSpec {
            advance: s.advance,
            ..SyncSpec::default()
        });
    }
    if !s.during.is_empty() {
        out.push(SyncSpec {
            during: Vec::new(),
            ..s.clone()
        });
        for i in 0..s.during.len() {
            let mut t = s.clone();
            t.during.remove(i);
            out.push(t);
        }
    }
    if s.crash.is_some() {
        out.push(SyncSpec {
            crash: None,
            ..s.clone()
        });
    }
    if let Some(f) = &s.faults {
        out.push(SyncSpec {
            faults: None,
            ..s.clone()
        });
        if f.permille > 0 {
            let mut t = s.clone();
            if let Some(g) = t.faults.as_mut() {
                g.permille = 0;
            }
            out.push(t);
        }
        for i in 0..f.rules.len() {
            let mut t = s.clone();
            if let Some(g) = t.faults.as_mut() {
                g.rules.remove(i);
            }
            out.push(t);
        }
        if f.disk_full {
            let mut t = s.clone();
            if let Some(g) = t.faults.as_mut() {
                g.disk_full = false;
            }
            out.push(t);
        }
    }
    out
}

/// Shrinks a failure's steps: drops steps and simplifies syncs while the replay still fails
/// the same way, within `budget` replays. Returns the shortest steps found.
pub fn shrink(failure: &Failure, cfg: &SimConfig, budget: usize) -> Vec<Step> {
    let kind = failure.kind;
    let tries = std::cell::Cell::new(0usize);
    let fails = |s: &[Step]| {
        tries.set(tries.get() + 1);
        matches!(run_steps(s, cfg), Err(f) if f.kind == kind)
    };
    let mut steps = failure.steps.clone();
    let mut changed = true;
    while changed && tries.get() < budget {
        changed = false;
        let mut n = (steps.len() / 2).max(1);
        loop {
            let mut i = 0;
            while i < steps.len() && tries.get() < budget {
                let mut cand = steps.clone();
                cand.drain(i..(i + n).min(steps.len()));
                if fails(&cand) {
                    steps = cand;
                    changed = true;
                } else {
                    i += n;
                }
            }
            if n == 1 {
                break;
            }
            n /= 2;
        }
        for i in 0..steps.len() {
            let Step::Sync(spec) = &steps[i] else {
                continue;
            };
            for s in simpler(spec) {
                if tries.get() >= budget {
                    break;
                }
                let mut cand = steps.clone();
                cand[i] = Step::Sync(s);
                if fails(&cand) {
                    steps = cand;
                    changed = true;
                    break;
                }
            }
        }
    }
    steps
}

/// The source of a named regression test replaying `steps` (for `tests/sim.rs`, which
/// defines `replay`).
pub fn regression_test(name: &str, failure: &Failure, steps: &[Step]) -> String {
    let origin = match failure.seed {
        Some(s) => format!("seed {s}"),
        None => "a replayed script".to_owned(),
    };
    let mut body = String::new();
    for line in to_script(steps).lines() {
        body.push_str("        ");
        body.push_str(line);
        body.push('\n');
    }
    format!(
        "/// Found by the simulation ({origin}): {kind:?}.\n#[test]\n#[ignore = \"known bug: {kind:?}: describe it in one line\"]\nfn {name}() {{\n    replay(\n        r##\"\n{body}        \"##,\n    );\n}}\n",
        kind = failure.kind
    )
}
