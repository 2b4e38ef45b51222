//! The Kubernetes objects procexport writes, as plain serde structs: the subset of the
//! `apps/v1`, `batch/v1` and `v1` schemas it fills in, with the field names of the API
//! (camelCase). Nothing here is text: `yaml` turns these into documents, so no value is ever
//! pasted into YAML by hand.

use serde::Serialize;
use std::collections::BTreeMap;

/// Labels, annotations, ConfigMap data: string to string, in a stable (sorted) order.
pub type Strings = BTreeMap<String, String>;

/// One object of the export.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Object {
    Deployment(Deployment),
    Job(Job),
    Service(Service),
    ConfigMap(ConfigMap),
    Secret(Secret),
}

impl Object {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Deployment(_) => "Deployment",
            Self::Job(_) => "Job",
            Self::Service(_) => "Service",
            Self::ConfigMap(_) => "ConfigMap",
            Self::Secret(_) => "Secret",
        }
    }

    pub fn metadata(&self) -> &Metadata {
        match self {
            Self::Deployment(o) => &o.metadata,
            Self::Job(o) => &o.metadata,
            Self::Service(o) => &o.metadata,
            Self::ConfigMap(o) => &o.metadata,
            Self::Secret(o) => &o.metadata,
        }
    }

    /// The file this object is written to with `--output DIR`: `<name>.<kind>.yaml`.
    pub fn file_name(&self) -> String {
        format!(
            "{}.{}.yaml",
            self.metadata().name,
            self.kind().to_ascii_lowercase()
        )
    }

    /// A Secret's file holds env values: only its owner may read it.
    pub fn file_mode(&self) -> u32 {
        match self {
            Self::Secret(_) => 0o600,
            Self::Deployment(_) | Self::Job(_) | Self::Service(_) | Self::ConfigMap(_) => 0o644,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Metadata {
    pub name: String,
    pub labels: Strings,
    #[serde(skip_serializing_if = "Strings::is_empty")]
    pub annotations: Strings,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: Metadata,
    pub spec: DeploymentSpec,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentSpec {
    pub replicas: u32,
    pub selector: Selector,
    pub template: PodTemplate,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Selector {
    pub match_labels: Strings,
}

#[derive(Debug, Clone, Serialize)]
pub struct PodTemplate {
    pub metadata: TemplateMetadata,
    pub spec: PodSpec,
}

#[derive(Debug, Clone, Serialize)]
pub struct TemplateMetadata {
    pub labels: Strings,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    pub restart_policy: &'static str,
    pub termination_grace_period_seconds: u32,
    /// The app never talks to the API server: no token is mounted into its pods.
    pub automount_service_account_token: bool,
    pub security_context: PodSecurityContext,
    pub containers: Vec<Container>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSecurityContext {
    pub run_as_non_root: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<u32>,
    pub seccomp_profile: SeccompProfile,
}

#[derive(Debug, Clone, Serialize)]
pub struct SeccompProfile {
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub name: String,
    pub image: String,
    pub command: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ContainerPort>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env_from: Vec<EnvFromSource>,
    pub security_context: ContainerSecurityContext,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPort {
    pub container_port: u16,
    pub protocol: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvFromSource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<Reference>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reference {
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerSecurityContext {
    pub allow_privilege_escalation: bool,
    pub privileged: bool,
    pub run_as_non_root: bool,
    pub capabilities: Capabilities,
}

#[derive(Debug, Clone, Serialize)]
pub struct Capabilities {
    pub drop: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: Metadata,
    pub spec: JobSpec,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSpec {
    pub backoff_limit: u32,
    pub completions: u32,
    pub parallelism: u32,
    pub template: PodTemplate,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: Metadata,
    pub spec: ServiceSpec,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceSpec {
    pub selector: Strings,
    pub ports: Vec<ServicePort>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePort {
    pub port: u16,
    pub target_port: u16,
    pub protocol: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMap {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: Metadata,
    pub data: Strings,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: Metadata,
    pub r#type: &'static str,
    /// Plain text: the API server encodes it into `data` itself.
    pub string_data: Strings,
}
