//! The Kubernetes export: the same Procfile and job model as the init-system backends,
//! rendered into Kubernetes objects instead of files to install.
//!
//! It is not a registry backend (`Backend`, `Installer`): nothing is installed on this
//! machine, so there is no manifest, no lock, no `clean` and no root. `cli::run` reads and
//! assembles the Procfile as for any export (without looking up the run user: no job runs
//! here), `render` is pure (job model in, objects out), `yaml` writes each object as a
//! document, and `write` puts them on stdout or, through `install::disk`, into a new or empty
//! directory of the invoking user's. The command is refused through sudo: it never needs root.
//!
//! The job model expands `count: N` into jobs `<label>_0..<label>_<N-1>`; Kubernetes keeps
//! one Deployment per process type with `replicas: N`, so the jobs are grouped back by the
//! Procfile entry that made them (`assemble` makes them in entry order).

mod names;
mod objects;
mod settings;
mod write;
mod yaml;

pub use settings::{Flags, KubernetesOptions};

use crate::error::{Error, Location, Result};
use crate::install::disk::Disk;
use crate::model::app::App;
use crate::model::job::{Job as ModelJob, Respawn};
use crate::model::kubernetes::{EnvStore, ReleaseAs};
use crate::model::layer::RespawnSetting;
use crate::model::process_type::ProcessType as ModelType;
use crate::procfile::{Entry, Procfile};
use crate::sanitize::Quoted;
use names::Rule;
use objects::{
    Capabilities, ConfigMap, Container, ContainerPort, ContainerSecurityContext, Deployment,
    DeploymentSpec, EnvFromSource, EnvVar, Job, JobSpec, Metadata, Object, PodSecurityContext,
    PodSpec, PodTemplate, Reference, SeccompProfile, Secret, Selector, Service, ServicePort,
    ServiceSpec, Strings, TemplateMetadata,
};
use std::collections::HashMap;
use std::io::Write;

/// The label whose process type runs once per release (Heroku's release phase).
const RELEASE: &str = "release";

/// What `render` makes: the objects, and notes on what was renamed or does not map.
#[derive(Debug)]
pub struct Rendered {
    pub objects: Vec<Object>,
    pub notes: Vec<String>,
}

/// Renders the assembled app and prints the notes to stderr, then prints the manifests to
/// `out` or writes them into `output` (a new or empty directory); `dry_run` shows what would
/// be written instead.
pub fn export(
    out: &mut dyn Write,
    disk: &Disk,
    app: &App,
    procfile: &Procfile,
    options: &KubernetesOptions,
    output: Option<&str>,
    dry_run: bool,
) -> Result<()> {
    let rendered = render(app, procfile, options)?;
    for note in &rendered.notes {
        crate::error::warn(&format!("note: {note}"));
    }
    let documents = rendered
        .objects
        .iter()
        .map(|object| {
            Ok(write::Document {
                file_name: object.file_name(),
                mode: object.file_mode(),
                text: yaml::document(object)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let what = format!("kubernetes export of {}", names::map(app.name.as_str()));
    match output {
        Some(dir) => write::to_dir(out, disk, dir, &documents, dry_run, &what),
        None => write::to_stdout(out, &documents, dry_run, &what),
    }
}

/// One process type: a Procfile entry and the process type the model made of it.
struct ProcessType<'a> {
    entry: &'a Entry,
    made: &'a ModelType,
}

/// Pairs the app's process types with the Procfile entries that made them.
fn process_types<'a>(app: &'a App, procfile: &'a Procfile) -> Result<Vec<ProcessType<'a>>> {
    let mut types = Vec::new();
    let mut made = app.types.iter();
    for entry in &procfile.entries {
        // `count: 0` installs nothing of the entry (the job model has no job for it).
        let count = entry.count.unwrap_or(1);
        if count == 0 {
            continue;
        }
        let Some(ty) = made.next() else {
            return Err(Error::failed(format!(
                "the job model has fewer process types than the Procfile's entries make (at {})",
                Quoted(entry.label.as_str())
            )));
        };
        let numbered = entry.count.is_some();
        if ty.first.label != entry.label || ty.count != count || ty.numbered != numbered {
            return Err(Error::failed(format!(
                "the jobs of label {} are not where the job model puts them",
                Quoted(entry.label.as_str())
            )));
        }
        types.push(ProcessType { entry, made: ty });
    }
    if made.next().is_some() {
        return Err(Error::failed(
            "the job model has more process types than the Procfile's entries make".to_owned(),
        ));
    }
    Ok(types)
}

/// Every label and key the options name must be the app's.
fn check_options(app: &App, types: &[ProcessType], options: &KubernetesOptions) -> Result<()> {
    let named = options
        .formation
        .iter()
        .map(|(label, _)| ("--formation names", label))
        .chain(
            options
                .listen
                .iter()
                .filter(|_| options.listen_explicit)
                .map(|label| ("the labels to listen name", label)),
        );
    for (what, label) in named {
        if !types.iter().any(|t| t.entry.label == *label) {
            return Err(Error::Usage(format!(
                "{what} label {}, which the Procfile does not have",
                Quoted(label.as_str())
            )));
        }
    }
    for key in &options.secret_keys {
        // A type's instances set the same keys: its first stands for all.
        if !app
            .types
            .iter()
            .any(|ty| ty.first.env.iter().any(|(k, _)| k == key))
        {
            return Err(Error::Usage(format!(
                "secret key {} is in no process type's env",
                Quoted(key.as_str())
            )));
        }
    }
    Ok(())
}

/// Renders the app as Kubernetes objects: per process type its env (Secret and/or
/// ConfigMap), a Deployment or a Job, and a Service when it listens.
pub fn render(app: &App, procfile: &Procfile, options: &KubernetesOptions) -> Result<Rendered> {
    // A container's limits and signals are the orchestrator's: none of the v2 job keys is
    // written into the manifests yet, so each is refused rather than lost.
    crate::model::capability::check("kubernetes", &[], app)?;
    let types = process_types(app, procfile)?;
    let mut notes = Vec::new();
    let app_k8s = names::map(app.name.as_str());
    names::check(
        &app_k8s,
        Rule::Dns1123,
        &format!("app name {}", Quoted(app.name.as_str())),
    )
    .map_err(Error::Usage)?;
    if app_k8s != app.name.as_str() {
        notes.push(format!(
            "app name {} is {} in Kubernetes",
            Quoted(app.name.as_str()),
            Quoted(&app_k8s)
        ));
    }
    check_options(app, &types, options)?;
    if procfile.start_on.is_some() || procfile.stop_on.is_some() {
        notes.push(
            "start_on_runlevel and stop_on_runlevel do not apply: the cluster runs the app whenever its objects exist"
                .to_owned(),
        );
    }
    let mut objects = Vec::new();
    let mut taken: HashMap<String, &Entry> = HashMap::new();
    for (index, process) in types.iter().enumerate() {
        let entry = process.entry;
        let label = entry.label.as_str();
        let component = names::map(label);
        let here = Location::line(&options.file, entry.line);
        names::check(
            &component,
            Rule::Dns1123,
            &format!("label {}", Quoted(label)),
        )
        .map_err(|m| Error::input(here.clone(), m))?;
        if let Some(other) = taken.insert(component.clone(), entry) {
            return Err(Error::input(
                here,
                format!(
                    "label {} would be the Kubernetes name {}, as label {} on line {} is",
                    Quoted(label),
                    Quoted(&component),
                    Quoted(other.label.as_str()),
                    other.line
                ),
            ));
        }
        if component != label {
            notes.push(format!(
                "label {} is {} in Kubernetes",
                Quoted(label),
                Quoted(&component)
            ));
        }
        let context = Context {
            app,
            app_k8s: &app_k8s,
            procfile,
            options,
        };
        objects.extend(context.process_objects(process, &component, index, &mut notes)?);
    }
    // One file per object: two objects of a kind with one name would overwrite each other.
    let mut files = std::collections::HashSet::new();
    for object in &objects {
        if !files.insert(object.file_name()) {
            return Err(Error::Usage(format!(
                "two objects would both be {} {}",
                object.kind(),
                Quoted(&object.metadata().name)
            )));
        }
    }
    Ok(Rendered { objects, notes })
}

/// What every process type's objects are made from.
struct Context<'a> {
    app: &'a App,
    app_k8s: &'a str,
    procfile: &'a Procfile,
    options: &'a KubernetesOptions,
}

/// How one process type is run.
struct Shape {
    runs_once: bool,
    listens: bool,
    hook: bool,
    port: u16,
    replicas: u32,
}

impl Context<'_> {
    /// The objects of one process type, the `index`th of the Procfile, named `component`.
    fn process_objects(
        &self,
        process: &ProcessType,
        component: &str,
        index: usize,
        notes: &mut Vec<String>,
    ) -> Result<Vec<Object>> {
        let entry = process.entry;
        let label = entry.label.as_str();
        let here = Location::line(&self.options.file, entry.line);
        let job = &process.made.first;
        let name = format!("{}-{component}", self.app_k8s);
        let shape = self
            .shape(process, job, index, notes)
            .map_err(|m| Error::input(here.clone(), m))?;
        let rule = if shape.listens && !shape.runs_once {
            Rule::Dns1035
        } else {
            Rule::Dns1123
        };
        let whose = format!(
            "label {} of app {}",
            Quoted(label),
            Quoted(self.app.name.as_str())
        );
        names::check(&name, rule, &whose).map_err(|m| Error::input(here, m))?;
        let metadata = |name: &str, weight: &str| Metadata {
            name: name.to_owned(),
            labels: labels(self.app_k8s, component, true),
            annotations: if shape.hook {
                hook_annotations(weight)
            } else {
                Strings::new()
            },
        };
        let (mut objects, env_from) = self.env_objects(job, &name, &metadata);
        let template = self.template(process, job, component, &shape, env_from);
        if shape.runs_once {
            let backoff_limit = match job.respawn {
                Respawn::Off => 0,
                Respawn::On(limit) => limit.map_or(6, |l| l.count),
            };
            objects.push(Object::Job(Job {
                api_version: "batch/v1",
                kind: "Job",
                metadata: metadata(&name, "0"),
                spec: JobSpec {
                    backoff_limit,
                    completions: shape.replicas,
                    parallelism: shape.replicas,
                    template,
                },
            }));
            return Ok(objects);
        }
        objects.push(Object::Deployment(Deployment {
            api_version: "apps/v1",
            kind: "Deployment",
            metadata: metadata(&name, "0"),
            spec: DeploymentSpec {
                replicas: shape.replicas,
                selector: Selector {
                    match_labels: labels(self.app_k8s, component, false),
                },
                template,
            },
        }));
        if shape.listens {
            objects.push(Object::Service(Service {
                api_version: "v1",
                kind: "Service",
                metadata: metadata(&name, "0"),
                spec: ServiceSpec {
                    selector: labels(self.app_k8s, component, false),
                    ports: vec![ServicePort {
                        port: shape.port,
                        target_port: shape.port,
                        protocol: "TCP",
                    }],
                },
            }));
        }
        Ok(objects)
    }

    /// The process type's env: a Secret and/or a ConfigMap `<name>-env`, and the container's
    /// references to them.
    fn env_objects(
        &self,
        job: &ModelJob,
        name: &str,
        metadata: &dyn Fn(&str, &str) -> Metadata,
    ) -> (Vec<Object>, Vec<EnvFromSource>) {
        let mut objects = Vec::new();
        let mut env_from = Vec::new();
        let (in_secret, in_config_map) = split_env(job, self.options);
        let env_name = format!("{name}-env");
        if !in_config_map.is_empty() {
            objects.push(Object::ConfigMap(ConfigMap {
                api_version: "v1",
                kind: "ConfigMap",
                metadata: metadata(&env_name, "-5"),
                data: in_config_map,
            }));
            env_from.push(EnvFromSource {
                config_map_ref: Some(Reference {
                    name: env_name.clone(),
                }),
                secret_ref: None,
            });
        }
        if !in_secret.is_empty() {
            objects.push(Object::Secret(Secret {
                api_version: "v1",
                kind: "Secret",
                metadata: metadata(&env_name, "-5"),
                r#type: "Opaque",
                string_data: in_secret,
            }));
            env_from.push(EnvFromSource {
                config_map_ref: None,
                secret_ref: Some(Reference {
                    name: env_name.clone(),
                }),
            });
        }
        (objects, env_from)
    }

    /// Settles how a process type runs, noting what of its settings does not map.
    fn shape(
        &self,
        process: &ProcessType,
        job: &ModelJob,
        index: usize,
        notes: &mut Vec<String>,
    ) -> Result<Shape, String> {
        let entry = process.entry;
        let label = entry.label.as_str();
        let runs_once = label == RELEASE || job.respawn == Respawn::Off;
        let listens = self.options.listen.contains(&entry.label);
        if listens && runs_once {
            notes.push(format!(
                "label {} runs as a Job, which gets no Service: it does not stay up to listen",
                Quoted(label)
            ));
        }
        if job.log_given {
            notes.push(format!(
                "the log file of label {} is not used: in Kubernetes a process logs to stdout and stderr (kubectl logs)",
                Quoted(label)
            ));
        }
        let limit_given = [&entry.layer, &self.procfile.top]
            .iter()
            .any(|l| matches!(l.respawn, Some(RespawnSetting::On(Some(_)))));
        if limit_given && !runs_once {
            notes.push(format!(
                "the respawn limit of label {} does not map: Kubernetes always restarts a Deployment's containers, with a growing back-off",
                Quoted(label)
            ));
        }
        let replicas = self
            .options
            .formation
            .iter()
            .find(|(l, _)| *l == entry.label)
            .map_or(entry.count.unwrap_or(1), |(_, n)| *n);
        Ok(Shape {
            runs_once,
            listens,
            hook: label == RELEASE && self.options.release == ReleaseAs::Hook,
            port: port_of(job, self.options.base_port, index)?,
            replicas,
        })
    }

    fn template(
        &self,
        process: &ProcessType,
        job: &ModelJob,
        component: &str,
        shape: &Shape,
        env_from: Vec<EnvFromSource>,
    ) -> PodTemplate {
        // Only a working directory the Procfile gives: the default (the Procfile's directory
        // on this machine) means nothing inside the image.
        let working_dir = [&process.entry.layer, &self.procfile.top]
            .iter()
            .find_map(|l| l.working_directory.as_ref())
            .map(|d| d.as_str().to_owned());
        // PORT goes in the container's own env unless the Procfile set it (then it is with
        // the rest of the env).
        let env = if job.env.iter().any(|(k, _)| k.as_str() == "PORT") {
            Vec::new()
        } else {
            vec![EnvVar {
                name: "PORT".to_owned(),
                value: shape.port.to_string(),
            }]
        };
        let container = Container {
            name: component.to_owned(),
            image: self.options.image.as_str().to_owned(),
            command: vec![
                "/bin/sh".to_owned(),
                "-c".to_owned(),
                job.command.exec_form(),
            ],
            working_dir,
            ports: if shape.listens && !shape.runs_once {
                vec![ContainerPort {
                    container_port: shape.port,
                    protocol: "TCP",
                }]
            } else {
                Vec::new()
            },
            env,
            env_from,
            security_context: ContainerSecurityContext {
                allow_privilege_escalation: false,
                privileged: false,
                run_as_non_root: true,
                capabilities: Capabilities { drop: vec!["ALL"] },
            },
        };
        let restart_policy = match (shape.runs_once, job.respawn) {
            (false, _) => "Always",
            (true, Respawn::Off) => "Never",
            (true, Respawn::On(_)) => "OnFailure",
        };
        PodTemplate {
            metadata: TemplateMetadata {
                labels: labels(self.app_k8s, component, true),
            },
            spec: PodSpec {
                restart_policy,
                termination_grace_period_seconds: job.kill_timeout,
                automount_service_account_token: false,
                security_context: PodSecurityContext {
                    run_as_non_root: true,
                    run_as_user: self.options.run_as_user,
                    seccomp_profile: SeccompProfile {
                        kind: "RuntimeDefault",
                    },
                },
                containers: vec![container],
            },
        }
    }
}

/// Helm's hook annotations for the release Job (weight 0) and its env (weight -5, so it
/// exists before the Job starts: Helm installs hooks before the chart's other objects).
fn hook_annotations(weight: &str) -> Strings {
    Strings::from([
        (
            "helm.sh/hook".to_owned(),
            "pre-install,pre-upgrade".to_owned(),
        ),
        ("helm.sh/hook-weight".to_owned(), weight.to_owned()),
        (
            "helm.sh/hook-delete-policy".to_owned(),
            "before-hook-creation".to_owned(),
        ),
    ])
}

/// PORT, the foreman way: the base port plus 100 for each process type before this one,
/// unless the Procfile's env sets it.
fn port_of(job: &ModelJob, base: u16, index: usize) -> Result<u16, String> {
    if let Some((_, value)) = job.env.iter().find(|(k, _)| k.as_str() == "PORT") {
        return value
            .as_str()
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| {
                format!(
                    "env PORT {} is not a port number (1 to 65535), which Kubernetes needs for containerPort",
                    Quoted(value.as_str())
                )
            });
    }
    u16::try_from(index)
        .ok()
        .and_then(|i| i.checked_mul(100))
        .and_then(|offset| base.checked_add(offset))
        .ok_or_else(|| {
            format!(
                "PORT would be {} (base port {base} + 100 x {index}), past 65535: give a lower --port",
                u64::from(base) + 100 * index as u64
            )
        })
}

/// The job's env split into what goes to the Secret and what to the ConfigMap.
fn split_env(job: &ModelJob, options: &KubernetesOptions) -> (Strings, Strings) {
    let mut secret = Strings::new();
    let mut config_map = Strings::new();
    for (key, value) in job.env.iter() {
        let to_secret = match options.env_in {
            EnvStore::Secret => true,
            EnvStore::Configmap => options.secret_keys.contains(key),
        };
        let target = if to_secret {
            &mut secret
        } else {
            &mut config_map
        };
        target.insert(key.as_str().to_owned(), value.as_str().to_owned());
    }
    (secret, config_map)
}

/// The standard `app.kubernetes.io/*` labels; the selector takes only the ones that never
/// change (`all` false).
fn labels(app: &str, component: &str, all: bool) -> Strings {
    let mut labels = Strings::from([
        ("app.kubernetes.io/name".to_owned(), app.to_owned()),
        ("app.kubernetes.io/instance".to_owned(), app.to_owned()),
        (
            "app.kubernetes.io/component".to_owned(),
            component.to_owned(),
        ),
    ]);
    if all {
        labels.insert("app.kubernetes.io/part-of".to_owned(), app.to_owned());
        labels.insert(
            "app.kubernetes.io/managed-by".to_owned(),
            "procexport".to_owned(),
        );
    }
    labels
}
