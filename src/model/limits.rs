//! The bounds on one export, so that a small Procfile cannot make root write without end
//! (`count` is capped per label; 2,000 labels of `count: 1000` made 3 GB). The job count is
//! checked before any job is built, and so is an estimate of the rendered bytes (every value
//! a job carries lands in at most a few of its files), from each type's values times its
//! instances: a 3 MB env value with `count: 1000` reached 3 GB of copies when the estimate
//! came after the jobs were built. The estimate is made again from the built jobs, and the
//! exact size after rendering, before anything is written.

use crate::error::{Error, LimitKey, Result};
use crate::model::app::App;
use crate::model::config::Limits;
use crate::model::process_type::ProcessType;

/// The bytes of template text a job's files hold besides its values, at most (the largest
/// backend's: runit's five scripts).
const TEMPLATE_BYTES_PER_JOB: u64 = 8 << 10;

/// How many of a job's files one of its values can land in, at most.
const COPIES_PER_VALUE: u64 = 3;

/// Refuses more jobs than `limits` allow: `jobs` is the number the Procfile asks for, every
/// `count` instance counted, known before a single job is built.
pub fn check_job_count(jobs: u64, limits: &Limits) -> Result<()> {
    if jobs > u64::from(limits.max_jobs) {
        return Err(Error::limit(
            LimitKey::Jobs,
            u64::from(limits.max_jobs),
            jobs,
        ));
    }
    Ok(())
}

/// Refuses a plan whose values would render to more bytes than `limits` allow: `types`
/// gives, per process type, its instance count and the bytes of the values one instance
/// carries (an upper bound). Called before a single job is built.
pub fn check_planned(types: impl Iterator<Item = (u64, u64)>, limits: &Limits) -> Result<()> {
    let estimate = types.fold(0u64, |total, (count, values)| {
        let per_job =
            TEMPLATE_BYTES_PER_JOB.saturating_add(COPIES_PER_VALUE.saturating_mul(values));
        total.saturating_add(count.saturating_mul(per_job))
    });
    refuse_bytes(estimate, limits, LimitKey::PlannedBytes)
}

/// Refuses an app with more jobs than `limits` allow, or whose values would render to more
/// bytes, before rendering.
pub fn check_jobs(app: &App, limits: &Limits) -> Result<()> {
    check_job_count(app.job_count(), limits)?;
    let jobs = app
        .types
        .iter()
        .flat_map(ProcessType::value_bytes)
        .map(|values| (1, values));
    check_planned(jobs, limits)
}

/// Refuses rendered files larger in all than `max_rendered_bytes` (`max`) allows.
/// (`bytes`: the rendered files' sizes so far, counted as they stream out: the render stops
/// at the first file past the bound.)
pub fn check_rendered_bytes(bytes: u64, max: u64) -> Result<()> {
    if bytes > max {
        return Err(Error::limit(LimitKey::RenderedBytes, max, bytes));
    }
    Ok(())
}

fn refuse_bytes(bytes: u64, limits: &Limits, key: LimitKey) -> Result<()> {
    if bytes > limits.max_rendered_bytes {
        return Err(Error::limit(key, limits.max_rendered_bytes, bytes));
    }
    Ok(())
}
