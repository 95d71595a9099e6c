{{/* Names, labels and the shared pieces of the Fieldwork templates. */}}

{{- define "fieldwork.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "fieldwork.fullname" -}}
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

{{- define "fieldwork.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The four services, in values order (values keys; the component is the kebab-case key). */}}
{{- define "fieldwork.serviceKeys" -}}
randomisation surveyIngest messaging analysis
{{- end -}}

{{/* Which services a service calls (DESIGN.md): the NetworkPolicy edges and the *_ADDRESS env. */}}
{{- define "fieldwork.calls" -}}
{{- $calls := dict "randomisation" "" "surveyIngest" "randomisation" "messaging" "randomisation surveyIngest" "analysis" "randomisation surveyIngest messaging" -}}
{{- index $calls . -}}
{{- end -}}

{{/* Labels of one component. Call with (dict "root" $ "component" "messaging"). */}}
{{- define "fieldwork.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fieldwork.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "fieldwork.labels" -}}
{{ include "fieldwork.selectorLabels" . }}
helm.sh/chart: {{ include "fieldwork.chart" .root }}
app.kubernetes.io/part-of: fieldwork
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "fieldwork.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Secret names: the operator's existing Secret, or the one this chart renders. */}}
{{- define "fieldwork.authSecretName" -}}
{{- default (printf "%s-auth" (include "fieldwork.fullname" .)) .Values.auth.existingSecret -}}
{{- end -}}

{{- define "fieldwork.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "fieldwork.fullname" .)) .Values.tls.existingSecret -}}
{{- end -}}

{{- define "fieldwork.redisSecretName" -}}
{{- default (printf "%s-redis" (include "fieldwork.fullname" .)) .Values.redis.auth.existingSecret -}}
{{- end -}}

{{- define "fieldwork.redisAuth" -}}
{{- if or .Values.redis.auth.existingSecret .Values.redis.auth.password -}}true{{- end -}}
{{- end -}}

{{- define "fieldwork.messagingSecretName" -}}
{{- printf "%s-messaging" (include "fieldwork.fullname" .) -}}
{{- end -}}

{{- define "fieldwork.surveyLinksSecretName" -}}
{{- default (printf "%s-survey-links" (include "fieldwork.fullname" .)) .Values.surveyLinks.existingSecret -}}
{{- end -}}

{{/* Whether the release has a survey link key ring (from its values or an existing Secret). */}}
{{- define "fieldwork.surveyLinks" -}}
{{- if or .Values.surveyLinks.existingSecret .Values.surveyLinks.keys -}}true{{- end -}}
{{- end -}}

{{/* The form's public base URL: surveyLinks.baseUrl, else the Ingress host over https. */}}
{{- define "fieldwork.surveyBaseUrl" -}}
{{- if .Values.surveyLinks.baseUrl -}}
{{- .Values.surveyLinks.baseUrl -}}
{{- else if and .Values.surveyIngest.ingress.enabled .Values.surveyIngest.ingress.host -}}
{{- printf "https://%s" .Values.surveyIngest.ingress.host -}}
{{- end -}}
{{- end -}}

{{/* The Redis URL without credentials. */}}
{{- define "fieldwork.redisUrl" -}}
{{- if eq .Values.redis.mode "cluster" -}}
{{- printf "redis-cluster://%s" (join "," .Values.redis.external.nodes) -}}
{{- else if .Values.redis.external.enabled -}}
{{- required "redis.external.url is required when redis.external.enabled" .Values.redis.external.url -}}
{{- else -}}
{{- printf "redis://%s-redis:%d/0" (include "fieldwork.fullname" .) (int .Values.redis.internal.port) -}}
{{- end -}}
{{- end -}}

{{/* Values that must be one of a set: fail naming the value and what it may be. */}}
{{- define "fieldwork.validate" -}}
{{- if not (has .Values.messaging.role (list "all" "scheduler" "worker")) -}}
{{- fail (printf "messaging.role is %q: it must be all, scheduler or worker" .Values.messaging.role) -}}
{{- end -}}
{{- if not (has .Values.redis.mode (list "single" "cluster")) -}}
{{- fail (printf "redis.mode is %q: it must be single or cluster" .Values.redis.mode) -}}
{{- end -}}
{{- if eq .Values.redis.mode "cluster" -}}
{{- if not .Values.redis.external.enabled -}}
{{- fail "redis.mode cluster needs redis.external.enabled: the chart runs no Redis Cluster of its own" -}}
{{- end -}}
{{- if not .Values.redis.external.nodes -}}
{{- fail "redis.mode cluster needs redis.external.nodes (host:port of the cluster's nodes, any of them)" -}}
{{- end -}}
{{- if .Values.redis.external.url -}}
{{- fail "redis.mode cluster takes redis.external.nodes, not redis.external.url: set one" -}}
{{- end -}}
{{- end -}}
{{- if not (has .Values.redis.internal.appendfsync (list "always" "everysec" "no")) -}}
{{- fail (printf "redis.internal.appendfsync is %q: it must be always, everysec or no" .Values.redis.internal.appendfsync) -}}
{{- end -}}
{{- if and (not .Values.redis.external.enabled) (ne .Values.redis.internal.appendfsync "always") (not .Values.config.allowVolatileRedis) -}}
{{- fail (printf "redis.internal.appendfsync is %q: the services refuse a Redis that may lose acknowledged writes; use always, or set config.allowVolatileRedis to accept that loss" .Values.redis.internal.appendfsync) -}}
{{- end -}}
{{- if and .Values.surveyIngest.form.enabled (not (include "fieldwork.surveyLinks" .)) -}}
{{- fail "surveyIngest.form.enabled needs surveyLinks.keys or surveyLinks.existingSecret (the form opens personal links with them)" -}}
{{- end -}}
{{- if and .Values.surveyIngest.ingress.enabled (not .Values.surveyIngest.ingress.host) -}}
{{- fail "surveyIngest.ingress.host is required when surveyIngest.ingress.enabled" -}}
{{- end -}}
{{- if and .Values.tls.enabled .Values.tls.existingSecret (or .Values.tls.cert .Values.tls.key) -}}
{{- fail "tls: set either tls.existingSecret or tls.cert and tls.key, not both" -}}
{{- end -}}
{{- end -}}
