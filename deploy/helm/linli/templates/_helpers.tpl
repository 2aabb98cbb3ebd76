{{/*
Names and labels, after bitnami's _labels.tpl and opentelemetry-helm-charts' _helpers.tpl.
A "component" is a service name (points), a migration (points-migrate) or a datastore
(postgresql). app.kubernetes.io/name is the component and app.kubernetes.io/instance the
release, so selectors use only those two labels and never overlap between components.
*/}}

{{- define "linli.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Object name for a component: <fullname>-<component>. Call with (list $ "points"). */}}
{{- define "linli.componentName" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "linli.fullname" $root) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: name + instance only (immutable on Deployments). */}}
{{- define "linli.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ index . 1 }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
{{- end -}}

{{/* Full label set. Call with (list $ "points" "service"); the third item is the role. */}}
{{- define "linli.labels" -}}
{{- $root := index . 0 -}}
{{ include "linli.selectorLabels" (list $root (index . 1)) }}
app.kubernetes.io/component: {{ index . 2 }}
app.kubernetes.io/part-of: linli
app.kubernetes.io/version: {{ include "linli.imageTag" $root | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" }}
linli.io/community-id: {{ $root.Values.community.id | quote }}
{{- end -}}

{{- define "linli.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{/* Image of a service: <registry>/linli-<service>:<tag>. Call with (list $ "points"). */}}
{{- define "linli.image" -}}
{{- $root := index . 0 -}}
{{- printf "%s/linli-%s:%s" $root.Values.image.registry (index . 1) (include "linli.imageTag" $root) -}}
{{- end -}}

{{/* Env var prefix of a service: LINLI_POINTS_. */}}
{{- define "linli.envPrefix" -}}
{{- printf "LINLI_%s_" (. | upper | replace "-" "_") -}}
{{- end -}}

{{/* A service entry merged over serviceDefaults. Call with (list $ "points"); returns YAML. */}}
{{- define "linli.serviceConfig" -}}
{{- $root := index . 0 -}}
{{- $svc := index $root.Values.services (index . 1) -}}
{{- toYaml (mergeOverwrite (deepCopy $root.Values.serviceDefaults) (deepCopy $svc)) -}}
{{- end -}}

{{/* Pod securityContext shared by every Linli pod. */}}
{{- define "linli.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container securityContext; read-only root: writable paths are emptyDir volumes. */}}
{{- define "linli.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Release guard: values must name a community, its namespace and its secrets. */}}
{{- define "linli.validate" -}}
{{- $v := .Values -}}
{{- $_ := required "community.id is required" $v.community.id -}}
{{- $ns := required "community.namespace is required" $v.community.namespace -}}
{{- if ne $ns .Release.Namespace -}}
{{- fail (printf "community %s belongs in namespace %s, not %s (helm -n %s)" $v.community.id $ns .Release.Namespace $ns) -}}
{{- end -}}
{{- $_ := required "postgresql.existingSecret (database URLs) is required" $v.postgresql.existingSecret -}}
{{- $_ := required "redis.existingSecret is required" $v.redis.existingSecret -}}
{{- if and (eq $v.postgresql.mode "external") (not $v.postgresql.external.cidrs) -}}
{{- fail "postgresql.external.cidrs is required in external mode (the NetworkPolicy egress allow-list)" -}}
{{- end -}}
{{- if and (eq $v.redis.mode "external") (not $v.redis.external.cidrs) -}}
{{- fail "redis.external.cidrs is required in external mode (the NetworkPolicy egress allow-list)" -}}
{{- end -}}
{{- if and (eq $v.postgresql.mode "inCluster") (not $v.postgresql.inCluster.passwordSecret) -}}
{{- fail "postgresql.inCluster.passwordSecret is required in inCluster mode" -}}
{{- end -}}
{{- if $v.services.identity.enabled -}}
{{- $_ := required "identity.templateKeys.existingSecret is required" $v.identity.templateKeys.existingSecret -}}
{{- $_ := required "identity.signingKeys.existingSecret is required" $v.identity.signingKeys.existingSecret -}}
{{- if and (eq $v.identity.faceEngine "insightface") (not $v.identity.modelPack.enabled) -}}
{{- fail "identity.faceEngine=insightface needs identity.modelPack (the operator's licensed pack)" -}}
{{- end -}}
{{- if and (eq $v.identity.faceEngine "insightface") (not (hasKey $v.identity.faceThresholds "insightface")) -}}
{{- fail "identity.faceEngine=insightface needs identity.faceThresholds.insightface (run linli-identity evaluate on the pack)" -}}
{{- end -}}
{{- end -}}
{{- if $v.services.rewards.enabled -}}
{{- $_ := required "rewards.voucherKeys.existingSecret is required" $v.rewards.voucherKeys.existingSecret -}}
{{- end -}}
{{- if $v.services.partners.enabled -}}
{{- $_ := required "partners.proofKeys.existingSecret is required" $v.partners.proofKeys.existingSecret -}}
{{- range $community, $_ := $v.partners.titleThresholds -}}
{{- if not (has $community (list "*" $v.community.id)) -}}
{{- fail (printf "partners.titleThresholds names community %s; this release serves %s (or \"*\")" $community $v.community.id) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $v.services.gateway.enabled -}}
{{- $_ := required "gateway.sessionSecret.existingSecret is required" $v.gateway.sessionSecret.existingSecret -}}
{{- $_ := required "gateway.ingress.host is required" $v.gateway.ingress.host -}}
{{- $_ := required "gateway.ingress.tlsSecret is required" $v.gateway.ingress.tlsSecret -}}
{{- if not $v.services.gateway.externalIngress -}}
{{- fail "services.gateway.externalIngress is required: the ingress controller's pods, the gateway's only way in" -}}
{{- end -}}
{{- end -}}
{{- if $v.points.timeBank.enabled -}}
{{- $_ := required "points.timeBank.tlsSecret is required when the time bank is on" $v.points.timeBank.tlsSecret -}}
{{- $_ := required "points.timeBank.peerCAs is required when the time bank is on" $v.points.timeBank.peerCAs -}}
{{- $_ := required "points.timeBank.statementKeys.existingSecret is required when the time bank is on" $v.points.timeBank.statementKeys.existingSecret -}}
{{- $_ := required "identity.federationSecret.existingSecret is required when the time bank is on (person keys for the recipient rule)" $v.identity.federationSecret.existingSecret -}}
{{- end -}}
{{- range $name, $svc := $v.services -}}
{{- if and $svc.enabled $svc.externalIngress (not (has $name (list "gateway" "partners"))) -}}
{{- fail (printf "services.%s.externalIngress: only gateway and partners take traffic from outside the release" $name) -}}
{{- end -}}
{{- if $svc.enabled -}}
{{- range $dep := $svc.calls -}}
{{- if and (has $dep (keys $v.services)) (not (index $v.services $dep).enabled) (ne $name "gateway") -}}
{{- fail (printf "services.%s calls %s, which is not enabled" $name $dep) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The rewards voucher keyring from its Secret: the Deployment and the migration Job,
whose settings refuse to load without it. */}}
{{- define "linli.rewardsVoucherKeysEnv" -}}
- name: LINLI_REWARDS_VOUCHER_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ .Values.rewards.voucherKeys.existingSecret }}
      key: {{ .Values.rewards.voucherKeys.key }}
{{- end -}}

{{/* The partners proof keyring from its Secret: the Deployment and the migration Job,
whose settings refuse to load without it. */}}
{{- define "linli.partnersProofKeysEnv" -}}
- name: LINLI_PARTNERS_PROOF_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ .Values.partners.proofKeys.existingSecret }}
      key: {{ .Values.partners.proofKeys.key }}
{{- end -}}

{{/* Egress to DNS, needed by every pod under the default-deny policy. */}}
{{- define "linli.egressDns" -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ .Values.networkPolicy.dns.namespace }}
      podSelector:
        matchLabels:
          {{- toYaml .Values.networkPolicy.dns.podLabels | nindent 10 }}
  ports:
    - {protocol: UDP, port: 53}
    - {protocol: TCP, port: 53}
{{- end -}}

{{/* Egress to a datastore (postgresql/redis), external CIDRs or the in-cluster pods. */}}
{{- define "linli.egressDatastore" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $cfg := index $root.Values $name -}}
- to:
    {{- if eq $cfg.mode "external" }}
    {{- range $cfg.external.cidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
    {{- else }}
    - podSelector:
        matchLabels:
          {{- include "linli.selectorLabels" (list $root $name) | nindent 10 }}
    {{- end }}
  ports:
    - {protocol: TCP, port: {{ $cfg.port }}}
{{- end -}}
