{{/* Names and labels. */}}
{{- define "orchestrator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "orchestrator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "orchestrator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "orchestrator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "orchestrator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "orchestrator.labels" -}}
helm.sh/chart: {{ include "orchestrator.chart" . }}
{{ include "orchestrator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "orchestrator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag | toString) -}}
{{- end -}}

{{/* The Secret holding the database URL and its key. */}}
{{- define "orchestrator.databaseSecretName" -}}
{{- if .Values.database.existingSecret -}}
{{- .Values.database.existingSecret -}}
{{- else -}}
{{- printf "%s-database" (include "orchestrator.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "orchestrator.databaseSecretKey" -}}
{{- if .Values.database.existingSecret -}}
{{- .Values.database.existingSecretKey | default "url" -}}
{{- else -}}
url
{{- end -}}
{{- end -}}

{{/* Seconds: preStop sleep. */}}
{{- define "orchestrator.preStopSleep" -}}
{{- int .Values.lifecycle.preStopSleepSeconds -}}
{{- end -}}

{{/*
terminationGracePeriodSeconds: the preStop sleep (endpoints are removed while the pod still
serves), then SIGTERM and the server's own drain (ORCH_GRACE, from server.graceSeconds, the
same value), plus a margin for the engine to release its leases and the process to exit.
*/}}
{{- define "orchestrator.terminationGrace" -}}
{{- add (int .Values.lifecycle.preStopSleepSeconds) (int .Values.server.graceSeconds) (int .Values.lifecycle.terminationMarginSeconds) -}}
{{- end -}}

{{/* Probes need a plaintext port: the main port, or the health-only port under TLS. */}}
{{- define "orchestrator.healthPortEnabled" -}}
{{- if or .Values.tls.enabled .Values.healthPort.enabled -}}true{{- end -}}
{{- end -}}

{{- define "orchestrator.probePort" -}}
{{- if include "orchestrator.healthPortEnabled" . -}}
{{- int .Values.healthPort.port -}}
{{- else -}}
{{- int .Values.containerPort -}}
{{- end -}}
{{- end -}}

{{/* Environment shared by the server pods and the migration Job. */}}
{{- define "orchestrator.commonEnv" -}}
- name: ORCH_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "orchestrator.databaseSecretName" . }}
      key: {{ include "orchestrator.databaseSecretKey" . }}
- name: ORCH_LOG_LEVEL
  value: {{ .Values.server.logLevel | quote }}
- name: ORCH_LOG_FORMAT
  value: {{ .Values.server.logFormat | quote }}
{{- end -}}

{{- define "orchestrator.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext -}}
{{- end -}}

{{- define "orchestrator.securityContext" -}}
{{- toYaml .Values.securityContext -}}
{{- end -}}

{{/* Extra environment from values (env: map, or a list of EnvVar objects). */}}
{{- define "orchestrator.extraEnv" -}}
{{- range $k, $v := .Values.extraEnv }}
- name: {{ $k }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- with .Values.extraEnvList }}
{{ toYaml . }}
{{- end }}
{{- end -}}
