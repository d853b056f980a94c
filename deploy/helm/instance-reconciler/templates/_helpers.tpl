{{/* Names: every object is "<release>-reconciler-<component>", so the Services' names (the
Prometheus job of a ServiceMonitor) end in reconciler-<program>, which is what the rules of
ops/prometheus/alerts.yml select (job=~".*reconciler-actuator"). */}}
{{- define "ir.name" -}}
{{- printf "%s-reconciler" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{- define "ir.labels" -}}
app.kubernetes.io/name: instance-reconciler
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "checker"). */}}
{{- define "ir.selector" -}}
app.kubernetes.io/name: instance-reconciler
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "ir.image" -}}
{{- $image := .image | default dict -}}
{{- printf "%s:%s" ($image.repository | default .root.Values.image.repository) ($image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion) -}}
{{- end -}}

{{- define "ir.secretDir" -}}/var/run/secrets/instance-reconciler{{- end -}}

{{/* The <NAME>_FILE variable -> Secret key pairs one component reads. */}}
{{- define "ir.secretFiles" -}}
{{- $keys := .root.Values.secrets.keys -}}
{{- $files := dict -}}
{{- if and (has .component (list "producer" "actuator" "setup")) $keys.databaseUrl -}}
{{- $_ := set $files "DATABASE_URL_FILE" $keys.databaseUrl -}}
{{- end -}}
{{- if has .component (list "checker" "actuator") -}}
{{- if $keys.cpSharedSecret }}{{ $_ := set $files "CP_SHARED_SECRET_FILE" $keys.cpSharedSecret }}{{ end -}}
{{- if $keys.cpAdminToken }}{{ $_ := set $files "CP_ADMIN_TOKEN_FILE" $keys.cpAdminToken }}{{ end -}}
{{- end -}}
{{- if and (eq .component "actuator") $keys.restartToken -}}
{{- $_ := set $files "RESTART_TOKEN_FILE" $keys.restartToken -}}
{{- end -}}
{{- range $variable, $key := .root.Values.secrets.extraKeys -}}
{{- $_ := set $files $variable $key -}}
{{- end -}}
{{- toYaml $files -}}
{{- end -}}

{{/* Environment shared by every component, then the component's own, then `env`s. */}}
{{- define "ir.env" -}}
{{- $values := .root.Values -}}
{{- $env := dict
  "KAFKA_BOOTSTRAP_SERVERS" $values.kafka.bootstrapServers
  "RECONCILER_TOPIC_CHECKS" $values.topics.checks
  "RECONCILER_TOPIC_VERDICTS" $values.topics.verdicts
  "RECONCILER_TOPIC_ACTIONS" $values.topics.actions
  "RECONCILER_TOPIC_DLQ" $values.topics.dlq
  "LOG_LEVEL" $values.logLevel -}}
{{- range $variable, $value := .extra }}{{ $_ := set $env $variable $value }}{{ end -}}
{{- range $variable, $value := $values.env }}{{ $_ := set $env $variable $value }}{{ end -}}
{{- range $variable, $value := .own }}{{ $_ := set $env $variable $value }}{{ end -}}
{{- range $variable, $key := fromYaml (include "ir.secretFiles" .) }}
{{- $_ := set $env $variable (printf "%s/%s" (include "ir.secretDir" $) $key) -}}
{{- end -}}
{{- range $variable, $value := $env }}
- name: {{ $variable }}
  value: {{ $value | toString | quote }}
{{- end -}}
{{- end -}}

{{/* The Secret's keys this component reads, as a projected volume of files. */}}
{{- define "ir.secretVolume" -}}
{{- $files := fromYaml (include "ir.secretFiles" .) -}}
{{- if $files }}
- name: secrets
  secret:
    secretName: {{ .root.Values.secrets.existingSecret }}
    defaultMode: 0440
    items:
    {{- range $key := (values $files | uniq | sortAlpha) }}
      - key: {{ $key }}
        path: {{ $key }}
    {{- end }}
{{- end }}
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "ir.secretMount" -}}
{{- $files := fromYaml (include "ir.secretFiles" .) -}}
{{- if $files }}
- name: secrets
  mountPath: {{ include "ir.secretDir" . }}
  readOnly: true
{{- end }}
- name: tmp
  mountPath: /tmp
{{- end -}}
