//! The `convert` command when the Hub is involved (a Hub source, `--upload-repo`, or both):
//! preflight → dry-run report or disk check → download → convert with provenance → upload.
//! Kept in the library so the CLI stays a thin argument parser.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use super::download::DownloadStats;
use super::{HubSettings, device_of, free_space, open_model, upload_folder};
use crate::error::{Error, Result};
use crate::output::{Provenance, SourceRef};
use crate::plan::ConvertOptions;
use crate::report::human_bytes;

/// Hub-related choices of one `convert` run.
#[derive(Clone, Debug, Default)]
pub struct HubRun {
    /// `Some` when `--hf-path` is a Hub id rather than a local folder.
    pub repo_id: Option<String>,
    pub revision: Option<String>,
    /// `--token`; never printed.
    pub token: Option<String>,
    pub upload_repo: Option<String>,
    pub dry_run: bool,
    pub json: bool,
    pub quiet: bool,
    /// The command line with any token removed, for the model card.
    pub command_line: Option<String>,
}

/// The command line as typed, minus `--token` values, quoted where needed: the card's record of
/// the exact settings.
pub fn redacted_command_line(args: impl IntoIterator<Item = String>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut skip = false;
    for (i, a) in args.into_iter().enumerate() {
        if skip {
            skip = false;
            continue;
        }
        if a == "--token" {
            skip = true;
            continue;
        }
        if a.starts_with("--token=") {
            continue;
        }
        let a = if i == 0 {
            Path::new(&a)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("hf2mlx")
                .to_string()
        } else {
            a
        };
        if a.is_empty()
            || a.contains(|c: char| c.is_whitespace() || "'\"$`\\|&;<>()*?#".contains(c))
        {
            out.push(format!("'{}'", a.replace('\'', "'\\''")));
        } else {
            out.push(a);
        }
    }
    out.join(" ")
}

fn bar(show: bool, template: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::hidden();
    if show {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template(template)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    }
    bar
}

const BAR: &str = "{spinner} {msg} [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, {eta})";

/// Bytes of the copied (non-weight) files, part of the output's disk needs.
fn copied_bytes(dir: &Path, names: &[String], listing: &[super::RemoteFile]) -> u64 {
    names
        .iter()
        .map(|n| {
            listing
                .iter()
                .find(|f| &f.path == n)
                .map(|f| f.size)
                .or_else(|| std::fs::metadata(dir.join(n)).ok().map(|m| m.len()))
                .unwrap_or(0)
        })
        .sum()
}

/// Refuses to start when the cache or the output filesystem cannot hold what this run writes.
fn check_disk(cache_dir: &Path, download: u64, out_dir: &Path, output: u64) -> Result<String> {
    let same = device_of(cache_dir).is_some() && device_of(cache_dir) == device_of(out_dir);
    let mut report = Vec::new();
    let mut needs = vec![(cache_dir, download, "the download (HF_HUB_CACHE)")];
    if same {
        needs[0].1 += output;
        needs[0].2 = "the download and the output";
    } else {
        needs.push((out_dir, output, "the output (--mlx-path)"));
    }
    for (dir, need, what) in needs {
        match free_space(dir) {
            Some(free) if free < need => {
                return Err(Error::Hub(format!(
                    "not enough disk space: {what} needs {} on the filesystem of {}, which has {} \
                     free. Free some space, or set HF_HUB_CACHE / choose --mlx-path on another disk",
                    human_bytes(need),
                    dir.display(),
                    human_bytes(free)
                )));
            }
            Some(free) => report.push(format!(
                "{} for {what} ({} free at {})",
                human_bytes(need),
                human_bytes(free),
                dir.display()
            )),
            None => report.push(format!("{} for {what}", human_bytes(need))),
        }
    }
    Ok(report.join("; "))
}

/// Runs `convert` for a Hub source and/or with `--upload-repo`.
pub fn convert(opts: &mut ConvertOptions, run: &HubRun) -> Result<()> {
    let settings = HubSettings::from_env(run.token.as_deref());
    let show = !run.quiet && std::io::stderr().is_terminal();
    let start = Instant::now();
    let out_parent = match opts.mlx_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    if let Some(up) = &run.upload_repo
        && !super::is_repo_id(up)
    {
        return Err(Error::Usage(format!(
            "--upload-repo `{up}` is not a repo id of the form ORG/NAME"
        )));
    }
    if run.upload_repo.is_some() && settings.token.is_none() && !run.dry_run {
        // Say it now, not after a long conversion.
        return Err(Error::Hub(
            "--upload-repo needs a token with write access: run `hf auth login`, set HF_TOKEN, or \
             pass --token"
                .into(),
        ));
    }
    if opts.mlx_path.exists() && !opts.force {
        return Err(Error::OutputExists(opts.mlx_path.clone()));
    }

    let (plan, provenance) = match &run.repo_id {
        None => {
            if run.revision.is_some() {
                return Err(Error::Usage(format!(
                    "--revision applies to Hub sources, but {} is a local folder",
                    opts.hf_path.display()
                )));
            }
            let plan = crate::plan::build(opts)?;
            let name = opts
                .hf_path
                .canonicalize()
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| opts.hf_path.display().to_string());
            if run.dry_run {
                print_dry_run(&plan, opts, run, None)?;
                return Ok(());
            }
            let prov = Provenance {
                source: SourceRef::Local { name },
                command: run.command_line.clone(),
                original_card: None,
                upload_repo: run.upload_repo.clone(),
            };
            (plan, prov)
        }
        Some(repo_id) => {
            let model = open_model(&settings, repo_id, run.revision.as_deref()).map_err(|e| match e {
                Error::Hub(m) => Error::Hub(format!(
                    "{m}\n(there is no local folder `{repo_id}`, so it was looked up on the Hub)"
                )),
                e => e,
            })?;
            opts.hf_path = model.snapshot_dir();
            let pre = model.preflight(opts)?;
            let output = pre.plan.total_size
                + copied_bytes(&model.snapshot_dir(), &pre.plan.copied_files, &model.files);
            let disk = check_disk(&settings.cache_dir, pre.download_bytes, &out_parent, output);
            if run.dry_run {
                let cached = model.files.len() - pre.to_fetch.len();
                let mut extra = format!(
                    "hub:         {repo_id} revision `{}` = commit {}{}\n",
                    model.revision,
                    model.commit,
                    if model.is_offline() {
                        " (offline, from the cache)"
                    } else {
                        ""
                    }
                );
                extra.push_str(&format!(
                    "fetch:       {} of {} files, {} to download ({} already cached) into {}\n",
                    pre.to_fetch.len(),
                    model.files.len(),
                    human_bytes(pre.download_bytes),
                    cached,
                    model.cache.repo_dir.display()
                ));
                for f in &pre.to_fetch {
                    extra.push_str(&format!("  {}  {}\n", f.path, human_bytes(f.size)));
                }
                match &disk {
                    Ok(d) => extra.push_str(&format!("disk:        {d}\n")),
                    Err(e) => extra.push_str(&format!("disk:        {e}\n")),
                }
                print_dry_run(&pre.plan, opts, run, Some((extra, &pre, &model)))?;
                return Ok(());
            }
            disk?;
            if !run.quiet {
                eprintln!(
                    "{repo_id} @ {} ({}): {} to convert, {} to download",
                    model.revision,
                    &model.commit[..12.min(model.commit.len())],
                    pre.plan.model_type,
                    human_bytes(pre.download_bytes)
                );
            }
            let dl = bar(show && pre.download_bytes > 0, BAR);
            dl.set_message("download");
            let stats: DownloadStats = model.download(&|done, total| {
                dl.set_length(total);
                dl.set_position(done);
            })?;
            dl.finish_and_clear();
            if !run.quiet && !stats.fetched.is_empty() {
                eprintln!(
                    "Downloaded {} file{} ({}) into {}",
                    stats.fetched.len(),
                    if stats.fetched.len() == 1 { "" } else { "s" },
                    human_bytes(stats.bytes),
                    model.snapshot_dir().display()
                );
            }
            let prov = Provenance {
                source: SourceRef::Hub {
                    repo_id: repo_id.clone(),
                    revision: model.revision.clone(),
                    commit: model.commit.clone(),
                    url: settings.repo_url(repo_id),
                },
                command: run.command_line.clone(),
                original_card: model.original_card(),
                upload_repo: run.upload_repo.clone(),
            };
            (pre.plan, prov)
        }
    };

    let cb = bar(show, BAR);
    cb.set_message("convert");
    let report = crate::execute_plan_with_card(&plan, opts, Some(&provenance), &|done, total| {
        cb.set_length(total);
        cb.set_position(done);
    })?;
    cb.finish_and_clear();
    if !run.quiet {
        if opts.check_finite {
            eprintln!("--check-finite: every floating tensor is finite");
        }
        if plan.quantization.is_some() {
            eprintln!(
                "Quantized model with {:.3} bits per weight.",
                report.bits_per_weight
            );
        }
        eprintln!(
            "Wrote {} ({} tensors in {} file{}, {}) in {:.1}s",
            report.mlx_path.display(),
            report.tensors,
            report.shards,
            if report.shards == 1 { "" } else { "s" },
            human_bytes(report.total_size),
            start.elapsed().as_secs_f64()
        );
    }
    if let Some(repo) = &run.upload_repo {
        let ub = bar(show, BAR);
        ub.set_message("upload");
        let source = match &provenance.source {
            SourceRef::Hub { repo_id, .. } => repo_id.clone(),
            SourceRef::Local { name } => name.clone(),
        };
        let up = upload_folder(
            &settings,
            &report.mlx_path,
            repo,
            false,
            &format!("Upload {source} converted to MLX with hf2mlx {}", env!("CARGO_PKG_VERSION")),
            &|done, total| {
                ub.set_length(total);
                ub.set_position(done);
            },
        )
        .map_err(|e| {
            Error::Hub(format!(
                "{e}\nThe converted model is in {}; finish the upload with `hf2mlx upload {} {repo}` \
                 (files the Hub already has are not sent again)",
                report.mlx_path.display(),
                report.mlx_path.display()
            ))
        })?;
        ub.finish_and_clear();
        if !run.quiet {
            print_upload(&settings, repo, &up);
        }
    }
    Ok(())
}

fn print_upload(settings: &HubSettings, repo: &str, up: &super::UploadReport) {
    eprintln!(
        "Uploaded to {} ({} LFS file{} sent, {} already there, {} small file{}){}",
        settings.repo_url(repo),
        up.lfs_uploaded.len(),
        if up.lfs_uploaded.len() == 1 { "" } else { "s" },
        up.lfs_skipped.len(),
        up.regular.len(),
        if up.regular.len() == 1 { "" } else { "s" },
        up.commit_url
            .as_ref()
            .map(|u| format!(": {u}"))
            .unwrap_or_default()
    );
}

/// `hf2mlx upload PATH ORG/NAME`: upload (or finish uploading) a converted folder.
pub fn upload_command(path: &Path, repo: &str, token: Option<&str>, private: bool) -> Result<()> {
    if !super::is_repo_id(repo) {
        return Err(Error::Usage(format!(
            "`{repo}` is not a repo id of the form ORG/NAME"
        )));
    }
    if !path.join("config.json").is_file() {
        return Err(Error::Usage(format!(
            "{} is not a converted model folder (no config.json)",
            path.display()
        )));
    }
    let settings = HubSettings::from_env(token);
    let show = std::io::stderr().is_terminal();
    let ub = bar(show, BAR);
    ub.set_message("upload");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let up = upload_folder(
        &settings,
        path,
        repo,
        private,
        &format!("Upload {name} with hf2mlx {}", env!("CARGO_PKG_VERSION")),
        &|done, total| {
            ub.set_length(total);
            ub.set_position(done);
        },
    )?;
    ub.finish_and_clear();
    print_upload(&settings, repo, &up);
    Ok(())
}

fn print_dry_run(
    plan: &crate::plan::Plan,
    opts: &ConvertOptions,
    run: &HubRun,
    hub: Option<(String, &super::Preflight, &super::HubModel)>,
) -> Result<()> {
    if run.json {
        let mut v = serde_json::to_value(plan).unwrap_or(serde_json::Value::Null);
        if let (Some((_, pre, model)), serde_json::Value::Object(m)) = (&hub, &mut v) {
            m.insert(
                "hub".into(),
                serde_json::json!({
                    "repo_id": model.repo_id,
                    "revision": model.revision,
                    "commit": model.commit,
                    "cache_dir": model.cache.repo_dir,
                    "download_bytes": pre.download_bytes,
                    "to_fetch": pre.to_fetch.iter().map(|f| serde_json::json!({"path": f.path, "size": f.size})).collect::<Vec<_>>(),
                }),
            );
        }
        crate::outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        crate::out!("{}", crate::report::dry_run_summary(plan, opts));
        if let Some((extra, _, _)) = hub {
            crate::out!("{extra}");
        }
        if let Some(up) = &run.upload_repo {
            crate::outln!("upload:      {up}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn token_is_removed_from_the_command_line() {
        let argv = [
            "/usr/bin/hf2mlx",
            "convert",
            "--hf-path",
            "o/m",
            "--token",
            "hf_SECRET",
            "-q",
            "--token=hf_X2",
            "--mlx-path",
            "a b",
        ];
        let s = super::redacted_command_line(argv.iter().map(|s| s.to_string()));
        assert_eq!(s, "hf2mlx convert --hf-path o/m -q --mlx-path 'a b'");
    }
}
