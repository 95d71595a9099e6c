// Checks one rendering of helm/fieldwork (tests/deploy/check.sh runs it once per values file):
// every object against the Kubernetes schemas (kubernetes-models), and the deployment rules of
// issue 8: security context, probes, Services and ports, FIELDWORK_* configuration, Secret
// references, NetworkPolicy edges exactly as DESIGN.md's call table, Redis persistence,
// PodDisruptionBudgets, autoscalers, and the monitoring objects (from the one source of truth).
//
// Usage: node validate.js --manifests FILE --values FILE.json --crds yes|no --repo DIR
//        node validate.js --self-test --manifests FILE --values FILE.json --repo DIR
// Exits 1 listing every failure (object kind/name and the reason); prints a summary line.
'use strict';

const fs = require('fs');
const path = require('path');
const YAML = require('yaml');

// DESIGN.md's table: which service calls which (the NetworkPolicy edges).
const CALLS = {
  randomisation: [],
  'survey-ingest': ['randomisation'],
  messaging: ['randomisation', 'survey-ingest'],
  analysis: ['randomisation', 'survey-ingest', 'messaging'],
};
const VALUES_KEY = {
  randomisation: 'randomisation', 'survey-ingest': 'surveyIngest', messaging: 'messaging',
  analysis: 'analysis',
};
const SERVICES = Object.keys(CALLS);
// The services with an HTTP port (Service port `http`) besides gRPC and metrics.
const HTTP_SERVICES = ['messaging', 'survey-ingest'];
// Flags naming a file that are not called *_file (the survey link key ring).
const FILE_FLAGS = ['FIELDWORK_SURVEY_LINK_KEYS'];

// The flags each binary accepts, as FIELDWORK_* variables, when its main.cc is not there to read.
const COMMON_FLAGS = ['listen_address', 'metrics_port', 'metrics_bind_address', 'redis_url',
  'redis_pool_size', 'redis_timeout', 'tokens_file', 'insecure_no_auth', 'tls_cert_file',
  'tls_key_file', 'drain_delay', 'shutdown_grace', 'simulated_clock', 'allow_volatile_redis'];
const EXTRA_FLAGS = {
  randomisation: [],
  'survey-ingest': ['randomisation_address', 'service_token_file'],
  messaging: ['randomisation_address', 'survey_ingest_address', 'service_token_file', 'smtp_url',
    'smtp_user', 'smtp_password_file', 'from_address', 'sms_gateway_url', 'sms_token_file',
    'contact_key_file', 'http_port', 'role', 'link_key_file', 'link_base_url', 'worker_name',
    'worker_threads', 'email_rate', 'sms_rate', 'max_attempts', 'sms_from',
    'sms_webhook_token_file', 'smtp_require_tls'],
  analysis: ['randomisation_address', 'survey_ingest_address', 'messaging_address',
    'service_token_file', 'monitor_interval', 'upstream_tls'],
};
const envName = (flag) => 'FIELDWORK_' + flag.toUpperCase();

// The flags of a service where it exists, else the flags it is specified to have (above): its
// main.cc's ABSL_FLAGs and the shared ones of every services/<dir>/<name>_flags.h it includes,
// defined once in the .cc beside that header (server_flags, http_flags, upstream_flags, ...).
function serviceFlags(repo, svc) {
  const defined = (file) => (fs.existsSync(file)
    ? [...fs.readFileSync(file, 'utf8').matchAll(/ABSL_FLAG\(\s*[\w:]+\s*,\s*(\w+)/g)].map((m) => m[1]) : []);
  const main = path.join(repo, 'services', svc.replace('-', '_'), 'main.cc');
  if (!fs.existsSync(main)) return COMMON_FLAGS.concat(EXTRA_FLAGS[svc]);
  const flags = defined(main);
  for (const m of fs.readFileSync(main, 'utf8').matchAll(/#include "(services\/\w+\/\w+_flags)\.h"/g)) {
    flags.push(...defined(path.join(repo, `${m[1]}.cc`)));
  }
  return flags;
}

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const key = a.slice(2);
    if (key === 'self-test') { args.selfTest = true; continue; }
    args[key] = argv[++i];
  }
  return args;
}

function loadManifests(text) {
  const objects = [];
  for (const doc of YAML.parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`rendered YAML does not parse: ${doc.errors[0].message}`);
    const obj = doc.toJS();
    if (obj !== null && obj !== undefined) objects.push(obj);
  }
  return objects;
}

function modelFor(apiVersion, kind) {
  const base = apiVersion.startsWith('monitoring.coreos.com/')
    ? '@kubernetes-models/prometheus-operator/' + apiVersion
    : 'kubernetes-models/' + apiVersion;
  let mod;
  try { mod = require(base); } catch (e) { return null; }
  return mod[kind] || null;
}

const id = (o) => `${o.kind}/${o.metadata && o.metadata.name}`;
const component = (o) => o.metadata && o.metadata.labels &&
  o.metadata.labels['app.kubernetes.io/component'];

// Every check; returns the list of failures (strings).
function check(objects, values, opts) {
  const fails = [];
  const fail = (o, msg) => fails.push(`${typeof o === 'string' ? o : id(o)}: ${msg}`);
  const byKind = (k) => objects.filter((o) => o.kind === k);
  const find = (k, name) => objects.find((o) => o.kind === k && o.metadata.name === name);

  // 1. Schemas, and no object twice.
  const seen = new Set();
  for (const o of objects) {
    if (!o.apiVersion || !o.kind || !o.metadata || !o.metadata.name) {
      fail(`${o.kind}`, 'missing apiVersion, kind or metadata.name'); continue;
    }
    const key = `${o.apiVersion}/${o.kind}/${o.metadata.name}`;
    if (seen.has(key)) fail(o, 'rendered twice');
    seen.add(key);
    const Model = modelFor(o.apiVersion, o.kind);
    if (!Model) { fail(o, `no schema for ${o.apiVersion} ${o.kind}`); continue; }
    try { new Model(JSON.parse(JSON.stringify(o))).validate(); } catch (e) {
      fail(o, `schema: ${e.message}`);
    }
  }

  const deployments = byKind('Deployment');
  const statefulsets = byKind('StatefulSet');
  const workloads = deployments.concat(statefulsets);
  const secrets = byKind('Secret');

  // 2. One Deployment per service, each running its own binary from the image.
  for (const svc of SERVICES) {
    const d = deployments.find((x) => component(x) === svc);
    if (!d) { fail(`Deployment ${svc}`, 'missing'); continue; }
    const c = d.spec.template.spec.containers[0];
    if (!c.command || c.command[0] !== `fieldwork-${svc}`) {
      fail(d, `command is ${JSON.stringify(c.command)}, expected ["fieldwork-${svc}"]`);
    }
    if (opts.imageBinaries && !opts.imageBinaries.includes(`fieldwork-${svc}`)) {
      fail(d, `the image (Dockerfile BINARIES) has no fieldwork-${svc}`);
    }
  }

  // 3. Security context and resources of every pod and container.
  for (const w of workloads) {
    const pod = w.spec.template.spec;
    const psc = pod.securityContext || {};
    if (psc.runAsNonRoot !== true) fail(w, 'pod securityContext.runAsNonRoot is not true');
    if (psc.runAsUser === 0) fail(w, 'pod runs as uid 0');
    for (const c of (pod.initContainers || []).concat(pod.containers)) {
      const sc = c.securityContext || {};
      const where = `container ${c.name}`;
      if (sc.readOnlyRootFilesystem !== true) fail(w, `${where}: readOnlyRootFilesystem is not true`);
      if (sc.allowPrivilegeEscalation !== false) fail(w, `${where}: allowPrivilegeEscalation is not false`);
      if (sc.privileged === true) fail(w, `${where}: privileged`);
      if (!(sc.capabilities && (sc.capabilities.drop || []).includes('ALL'))) {
        fail(w, `${where}: capabilities.drop does not include ALL`);
      }
      if (sc.capabilities && (sc.capabilities.add || []).length) fail(w, `${where}: adds capabilities`);
      if (sc.runAsNonRoot === false || sc.runAsUser === 0) fail(w, `${where}: may run as root`);
      for (const kind of ['requests', 'limits']) {
        for (const r of ['cpu', 'memory']) {
          if (!(c.resources && c.resources[kind] && c.resources[kind][r])) {
            fail(w, `${where}: resources.${kind}.${r} is not set`);
          }
        }
      }
    }
  }

  // 4. Probes: native gRPC on the grpc port, or TCP on it when TLS is on (kubelet's gRPC probe
  // has no TLS); Redis by TCP.
  const tls = values.tls.enabled;
  for (const d of deployments) {
    const c = d.spec.template.spec.containers[0];
    const grpcPort = (c.ports || []).find((p) => p.name === 'grpc');
    if (!grpcPort) { fail(d, 'no container port named grpc'); continue; }
    for (const probe of ['livenessProbe', 'readinessProbe']) {
      const p = c[probe];
      if (!p) { fail(d, `${probe} missing`); continue; }
      if (tls) {
        if (!(p.tcpSocket && (p.tcpSocket.port === 'grpc' || p.tcpSocket.port === grpcPort.containerPort))) {
          fail(d, `${probe}: with TLS on, expected tcpSocket on the grpc port`);
        }
      } else if (!(p.grpc && p.grpc.port === grpcPort.containerPort)) {
        fail(d, `${probe}: expected a native gRPC probe on port ${grpcPort.containerPort}, got ${JSON.stringify(p)}`);
      }
    }
  }
  for (const s of statefulsets) {
    for (const c of s.spec.template.spec.containers) {
      if (!c.livenessProbe || !c.readinessProbe) fail(s, `container ${c.name}: probes missing`);
    }
  }

  // 5. Services: named ports that reach a named container port of the pods they select.
  const podsMatching = (selector) => workloads.filter((w) => Object.entries(selector || {})
    .every(([k, v]) => (w.spec.template.metadata.labels || {})[k] === v));
  // Each service has a ClusterIP Service (partners, Prometheus) and a headless one (-pods) for
  // the services' calls to each other, which spread over every pod only through it.
  const headless = (s) => s.spec.clusterIP === 'None';
  for (const svc of SERVICES) {
    const pods = byKind('Service').filter((x) => component(x) === svc && headless(x));
    if (pods.length !== 1) fail(`Service ${svc}-pods`, `${pods.length} headless Services, want 1`);
    for (const h of pods) {
      if (h.spec.publishNotReadyAddresses) fail(h, 'publishes pods that are not ready');
      if (h.spec.ports.map((p) => p.name).join() !== 'grpc') fail(h, 'ports other than grpc');
    }
    const s = byKind('Service').find((x) => component(x) === svc && !headless(x));
    if (!s) { fail(`Service ${svc}`, 'missing'); continue; }
    // http: messaging's tracked links, survey-ingest's survey form.
    const want = ['grpc', 'metrics'].concat(HTTP_SERVICES.includes(svc) ? ['http'] : []);
    const names = s.spec.ports.map((p) => p.name);
    for (const n of want) if (!names.includes(n)) fail(s, `no port named ${n}`);
    const v = values[VALUES_KEY[svc]];
    const expectPort = { grpc: v.grpcPort, metrics: v.metricsPort, http: v.httpPort };
    for (const one of [s].concat(pods)) {
      const selected = podsMatching(one.spec.selector);
      if (selected.length !== 1 || component(selected[0]) !== svc) fail(one, `selects ${selected.map(id).join(', ') || 'no pods'}`);
      for (const p of one.spec.ports) {
        if (expectPort[p.name] !== undefined && p.port !== expectPort[p.name]) {
          fail(one, `port ${p.name} is ${p.port}, values say ${expectPort[p.name]}`);
        }
        for (const w of selected) {
          const cp = w.spec.template.spec.containers[0].ports.find((x) => x.name === p.targetPort || x.containerPort === p.targetPort);
          if (!cp) fail(one, `targetPort ${p.targetPort} is no container port of ${id(w)}`);
        }
      }
    }
  }
  for (const s of byKind('Service')) {
    if (podsMatching(s.spec.selector).length === 0) fail(s, 'selects no pods');
  }

  // 6. Configuration: only flags the binary knows, the required ones set, addresses that name
  // a rendered Service's grpc port, and every *_FILE path mounted from a Secret.
  for (const d of deployments) {
    const svc = component(d);
    if (!CALLS[svc]) continue;
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    const env = Object.fromEntries((c.env || []).map((e) => [e.name, e]));
    const known = serviceFlags(opts.repo, svc).map(envName);
    for (const name of Object.keys(env)) {
      if (name.startsWith('FIELDWORK_') && !known.includes(name)) fail(d, `${name} is no flag of fieldwork-${svc}`);
    }
    for (const req of ['listen_address', 'metrics_port', 'redis_url', 'tokens_file']) {
      if (!env[envName(req)]) fail(d, `${envName(req)} is not set`);
    }
    // A volatile Redis is accepted only when the values ask for it, never by default.
    const volatileAllowed = Boolean(env.FIELDWORK_ALLOW_VOLATILE_REDIS) &&
      String(env.FIELDWORK_ALLOW_VOLATILE_REDIS.value) !== 'false';
    if (volatileAllowed !== Boolean(values.config.allowVolatileRedis)) {
      fail(d, `FIELDWORK_ALLOW_VOLATILE_REDIS does not follow config.allowVolatileRedis (${values.config.allowVolatileRedis})`);
    }
    const v = values[VALUES_KEY[svc]];
    if (env.FIELDWORK_LISTEN_ADDRESS && !String(env.FIELDWORK_LISTEN_ADDRESS.value).endsWith(`:${v.grpcPort}`)) {
      fail(d, 'FIELDWORK_LISTEN_ADDRESS does not use grpcPort');
    }
    if (env.FIELDWORK_METRICS_PORT && String(env.FIELDWORK_METRICS_PORT.value) !== String(v.metricsPort)) {
      fail(d, 'FIELDWORK_METRICS_PORT differs from metricsPort');
    }
    for (const callee of CALLS[svc]) {
      const e = env[envName(callee.replace('-', '_') + '_address')];
      if (!e) { fail(d, `no address for ${callee}`); continue; }
      // dns:///name:port, the name a headless Service's: gRPC's resolver then sees every pod.
      const m = /^dns:\/\/\/([^:]+):(\d+)$/.exec(String(e.value));
      if (!m) { fail(d, `${e.name}=${e.value} is not dns:///<service>:<port>`); continue; }
      const [, host, port] = m;
      const target = find('Service', host);
      if (!target || component(target) !== callee) { fail(d, `${e.name}=${e.value} names no ${callee} Service`); continue; }
      if (!headless(target)) fail(d, `${e.name}=${e.value} is not the headless Service: each caller would reach one pod`);
      const gp = target.spec.ports.find((p) => p.name === 'grpc');
      if (!gp || String(gp.port) !== port) fail(d, `${e.name}=${e.value} is not ${callee}'s grpc port`);
    }
    if (CALLS[svc].length && !env.FIELDWORK_SERVICE_TOKEN_FILE) fail(d, 'FIELDWORK_SERVICE_TOKEN_FILE is not set');
    const redisUrl = env.FIELDWORK_REDIS_URL && String(env.FIELDWORK_REDIS_URL.value);
    if (redisUrl && redisUrl.includes('$(')) {
      const ref = /\$\(([A-Z_]+)\)/.exec(redisUrl)[1];
      const names = (c.env || []).map((x) => x.name);
      if (names.indexOf(ref) < 0 || names.indexOf(ref) > names.indexOf('FIELDWORK_REDIS_URL')) {
        fail(d, `FIELDWORK_REDIS_URL uses $(${ref}), which is not defined before it`);
      }
    }
    for (const [name, e] of Object.entries(env)) {
      if (!name.startsWith('FIELDWORK_') || !(name.endsWith('_FILE') || FILE_FLAGS.includes(name))) continue;
      const file = String(e.value);
      const mount = (c.volumeMounts || []).find((m) => file.startsWith(m.mountPath.replace(/\/?$/, '/')));
      if (!mount) { fail(d, `${name}=${file} is on no volume mount`); continue; }
      const rel = file.slice(mount.mountPath.replace(/\/?$/, '/').length);
      const vol = (pod.volumes || []).find((x) => x.name === mount.name);
      const provided = volumeFiles(vol, secrets);
      if (provided !== null && !provided.includes(rel)) {
        fail(d, `${name}=${file}: volume ${mount.name} provides ${JSON.stringify(provided)}, not ${rel}`);
      }
    }
  }

  // 7. Every Secret reference resolves: to a rendered Secret that has the key, or to an
  // existing Secret that the values declare.
  const declared = new Set([values.auth.existingSecret, values.tls.existingSecret,
    values.redis.auth.existingSecret, values.messaging.smtp.existingSecret,
    values.messaging.sms.existingSecret, values.messaging.contactKey.existingSecret,
    values.messaging.linkKey.existingSecret, values.messaging.sms.webhookExistingSecret,
    values.surveyLinks.existingSecret]
    .concat(values.image.pullSecrets || []).filter(Boolean));
  const resolve = (o, name, key, where) => {
    const s = secrets.find((x) => x.metadata.name === name);
    if (s) {
      const keys = Object.keys(s.data || {}).concat(Object.keys(s.stringData || {}));
      if (key !== undefined && !keys.includes(key)) fail(o, `${where}: Secret ${name} has no key ${key}`);
    } else if (!declared.has(name)) {
      fail(o, `${where}: Secret ${name} is neither rendered nor a declared existing Secret`);
    }
  };
  for (const w of workloads) {
    const pod = w.spec.template.spec;
    for (const c of (pod.initContainers || []).concat(pod.containers)) {
      for (const e of c.env || []) {
        const r = e.valueFrom && e.valueFrom.secretKeyRef;
        if (r) resolve(w, r.name, r.key, `env ${e.name}`);
      }
      for (const ef of c.envFrom || []) if (ef.secretRef) resolve(w, ef.secretRef.name, undefined, 'envFrom');
    }
    for (const v of pod.volumes || []) {
      if (v.secret) {
        const items = v.secret.items || [];
        if (!items.length) resolve(w, v.secret.secretName, undefined, `volume ${v.name}`);
        for (const it of items) resolve(w, v.secret.secretName, it.key, `volume ${v.name}`);
      }
      for (const src of (v.projected && v.projected.sources) || []) {
        if (!src.secret) continue;
        const items = src.secret.items || [];
        if (!items.length) resolve(w, src.secret.name, undefined, `volume ${v.name}`);
        for (const it of items) resolve(w, src.secret.name, it.key, `volume ${v.name}`);
      }
    }
    for (const ps of pod.imagePullSecrets || []) resolve(w, ps.name, undefined, 'imagePullSecrets');
  }
  for (const s of secrets) {
    if (s.type === 'kubernetes.io/tls') {
      for (const k of ['tls.crt', 'tls.key']) if (!(s.data || {})[k]) fail(s, `no ${k}`);
    }
  }

  // 7b. Survey links: with a key ring in the values, messaging seals with it (and has the form's
  // URL when the values give one) and survey-ingest holds the same file; the form's flags only
  // when the form is on; the form's Ingress reaches survey-ingest's http port.
  const surveyLinks = Boolean(values.surveyLinks.keys || values.surveyLinks.existingSecret);
  for (const svc of ['messaging', 'survey-ingest']) {
    const d = deployments.find((x) => component(x) === svc);
    if (!d) continue;
    const env = Object.fromEntries((d.spec.template.spec.containers[0].env || []).map((e) => [e.name, e]));
    const expectKeys = surveyLinks && (svc === 'messaging' || values.surveyIngest.form.enabled);
    if (Boolean(env.FIELDWORK_SURVEY_LINK_KEYS) !== expectKeys) {
      fail(d, `FIELDWORK_SURVEY_LINK_KEYS is ${env.FIELDWORK_SURVEY_LINK_KEYS ? 'set' : 'not set'}; the values say ${expectKeys ? 'set' : 'not set'}`);
    }
    const volume = (d.spec.template.spec.volumes || []).find((v) => v.name === 'survey-links');
    if (Boolean(volume) !== surveyLinks) fail(d, `survey-links volume ${volume ? 'mounted without' : 'missing despite'} surveyLinks in the values`);
    // The binary's default serves the form (and refuses to start without keys): "off" must be
    // an explicit empty address.
    const listen = env.FIELDWORK_HTTP_LISTEN_ADDRESS;
    if (svc === 'survey-ingest' && (!listen || Boolean(listen.value) !== Boolean(values.surveyIngest.form.enabled))) {
      fail(d, 'FIELDWORK_HTTP_LISTEN_ADDRESS does not follow surveyIngest.form.enabled (off must be set to "")');
    }
    if (svc === 'survey-ingest' && listen && listen.value &&
        !String(env.FIELDWORK_HTTP_LISTEN_ADDRESS.value).endsWith(`:${values.surveyIngest.httpPort}`)) {
      fail(d, 'FIELDWORK_HTTP_LISTEN_ADDRESS does not use surveyIngest.httpPort');
    }
  }
  for (const ing of byKind('Ingress')) {
    for (const rule of ing.spec.rules || []) {
      for (const p of (rule.http && rule.http.paths) || []) {
        const b = p.backend.service;
        const target = b && find('Service', b.name);
        if (!target || component(target) !== 'survey-ingest' || !target.spec.ports.some((x) => x.name === b.port.name && x.name === 'http')) {
          fail(ing, `backend ${JSON.stringify(p.backend)} is not survey-ingest's http port`);
        }
      }
    }
  }
  if (Boolean(values.surveyIngest.ingress.enabled) !== (byKind('Ingress').length === 1)) {
    fail('Ingress', `${byKind('Ingress').length} rendered; surveyIngest.ingress.enabled is ${values.surveyIngest.ingress.enabled}`);
  }

  // 8. NetworkPolicies: exactly DESIGN.md's calls, Redis, Prometheus, clients, delivery, DNS.
  if (values.networkPolicy.enabled) checkNetworkPolicies(objects, values, fail);
  else if (byKind('NetworkPolicy').length) fail('NetworkPolicy', 'rendered although networkPolicy.enabled is false');

  // 9. Redis: the in-cluster StatefulSet with AOF on a PersistentVolumeClaim, or none.
  const redis = statefulsets.find((s) => component(s) === 'redis');
  if (values.redis.external.enabled) {
    if (redis) fail(redis, 'rendered although redis.external.enabled');
    for (const d of deployments) {
      const url = ((d.spec.template.spec.containers[0].env || []).find((e) => e.name === 'FIELDWORK_REDIS_URL') || {}).value || '';
      const wanted = values.redis.mode === 'cluster'
        ? `redis-cluster://${values.redis.external.nodes.join(',')}` : values.redis.external.url;
      if (url.replace(/:\$\(REDIS_PASSWORD\)@/, '') !== wanted) fail(d, `FIELDWORK_REDIS_URL ${url} is not ${wanted} (redis.external)`);
      const withPassword = /^[a-z-]+:\/\/:\$\(REDIS_PASSWORD\)@/.test(url);
      if (withPassword !== Boolean(values.redis.auth.password || values.redis.auth.existingSecret)) {
        fail(d, `FIELDWORK_REDIS_URL ${url}: the password is ${withPassword ? '' : 'not '}in it, but redis.auth ${withPassword ? 'sets none' : 'sets one'}`);
      }
    }
  } else if (!redis) {
    fail('StatefulSet redis', 'missing');
  } else {
    const cm = byKind('ConfigMap').find((x) => component(x) === 'redis');
    const conf = (cm && cm.data['redis.conf']) || '';
    if (!/^appendonly yes$/m.test(conf)) fail(redis, 'redis.conf lacks appendonly yes');
    if (!new RegExp(`^appendfsync ${values.redis.internal.appendfsync}$`, 'm').test(conf)) {
      fail(redis, `redis.conf lacks appendfsync ${values.redis.internal.appendfsync}`);
    }
    // The services refuse anything but appendfsync always unless allowed to run volatile.
    if (!/^appendfsync always$/m.test(conf) && !values.config.allowVolatileRedis) {
      fail(redis, 'redis.conf does not fsync every write (appendfsync always), and the services are not allowed a volatile Redis');
    }
    const claim = (redis.spec.volumeClaimTemplates || []).find((t) => t.metadata.name === 'data');
    if (!claim) fail(redis, 'no PersistentVolumeClaim template "data"');
    else if (claim.spec.resources.requests.storage !== values.redis.internal.persistence.size) fail(redis, 'PVC size differs from values');
    const mount = redis.spec.template.spec.containers[0].volumeMounts.find((m) => m.name === 'data');
    if (!mount || mount.mountPath !== '/data' || !/^dir \/data$/m.test(conf)) fail(redis, 'the AOF directory is not the PVC');
    const authOn = values.redis.auth.existingSecret || values.redis.auth.password;
    const args = redis.spec.template.spec.containers[0].args || [];
    if (Boolean(authOn) !== args.includes('--requirepass')) fail(redis, 'requirepass does not follow redis.auth');
  }

  // 10. PodDisruptionBudgets and autoscalers follow the values and select/target real pods.
  for (const svc of SERVICES) {
    const v = values[VALUES_KEY[svc]];
    const pdb = byKind('PodDisruptionBudget').find((x) => component(x) === svc);
    if (v.podDisruptionBudget.enabled !== Boolean(pdb)) fail(`PodDisruptionBudget ${svc}`, `rendered=${Boolean(pdb)} but enabled=${v.podDisruptionBudget.enabled}`);
    if (pdb && podsMatching(pdb.spec.selector.matchLabels).map(component).join() !== svc) fail(pdb, 'does not select exactly its service');
    const hpa = byKind('HorizontalPodAutoscaler').find((x) => component(x) === svc);
    const d = deployments.find((x) => component(x) === svc);
    if (v.autoscaling.enabled !== Boolean(hpa)) fail(`HorizontalPodAutoscaler ${svc}`, `rendered=${Boolean(hpa)} but enabled=${v.autoscaling.enabled}`);
    if (hpa) {
      if (!d || hpa.spec.scaleTargetRef.name !== d.metadata.name) fail(hpa, 'targets no rendered Deployment');
      if (d && d.spec.replicas !== undefined) fail(d, 'sets replicas although an HPA scales it');
    } else if (d && d.spec.replicas !== v.replicas) {
      fail(d, `replicas ${d.spec.replicas}, values say ${v.replicas}`);
    }
  }

  // 11. Monitoring: only when enabled and the CRDs exist; rules and dashboard verbatim.
  const crds = opts.crds;
  const sms = byKind('ServiceMonitor');
  const wantSm = values.monitoring.serviceMonitor.enabled && crds;
  if (wantSm ? sms.length !== SERVICES.length : sms.length !== 0) fail('ServiceMonitor', `${sms.length} rendered (enabled=${values.monitoring.serviceMonitor.enabled}, CRDs=${crds})`);
  for (const sm of sms) {
    const target = byKind('Service').filter((s) => Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => (s.metadata.labels || {})[k] === v));
    if (target.length !== 1 || !target[0].spec.ports.some((p) => p.name === sm.spec.endpoints[0].port)) fail(sm, 'does not select one Service with its endpoint port');
    // The alert rules name jobs fieldwork-<component>, whatever the release is called.
    const job = target.length === 1 ? (target[0].metadata.labels || {})[sm.spec.jobLabel] : undefined;
    if (job !== `fieldwork-${component(target[0] || sm)}`) fail(sm, `scrape job would be "${job}" (jobLabel ${sm.spec.jobLabel}), the rules expect fieldwork-${component(target[0] || sm)}`);
  }
  const rules = byKind('PrometheusRule');
  const wantRules = values.monitoring.prometheusRule.enabled && crds;
  if (wantRules ? rules.length !== 1 : rules.length !== 0) fail('PrometheusRule', `${rules.length} rendered (enabled=${values.monitoring.prometheusRule.enabled}, CRDs=${crds})`);
  if (rules.length === 1) {
    const source = YAML.parse(fs.readFileSync(path.join(opts.repo, 'deploy/prometheus/rules/fieldwork.rules.yaml'), 'utf8'));
    if (JSON.stringify(rules[0].spec) !== JSON.stringify(source)) fail(rules[0], 'spec differs from deploy/prometheus/rules/fieldwork.rules.yaml');
  }
  const dash = byKind('ConfigMap').find((x) => component(x) === 'monitoring');
  if (values.monitoring.grafanaDashboard.enabled !== Boolean(dash)) fail('ConfigMap dashboard', `rendered=${Boolean(dash)}`);
  if (dash) {
    const g = values.monitoring.grafanaDashboard;
    if (dash.metadata.labels[g.label] !== g.labelValue) fail(dash, `lacks the sidecar label ${g.label}=${g.labelValue}`);
    const source = JSON.parse(fs.readFileSync(path.join(opts.repo, 'deploy/grafana/fieldwork-trial.json'), 'utf8'));
    const files = Object.values(dash.data || {});
    if (files.length !== 1) fail(dash, 'expected one dashboard file');
    else {
      let parsed = null;
      try { parsed = JSON.parse(files[0]); } catch (e) { fail(dash, `dashboard is not JSON: ${e.message}`); }
      if (parsed && JSON.stringify(parsed) !== JSON.stringify(source)) fail(dash, 'differs from deploy/grafana/fieldwork-trial.json');
    }
  }
  return fails;
}

// The file names a volume provides, or null when they cannot be known (an existing Secret
// mounted whole).
function volumeFiles(vol, secrets) {
  if (!vol) return [];
  const fromSecret = (name, items) => {
    if (items && items.length) return items.map((i) => i.path);
    const s = secrets.find((x) => x.metadata.name === name);
    return s ? Object.keys(s.data || {}).concat(Object.keys(s.stringData || {})) : null;
  };
  if (vol.secret) return fromSecret(vol.secret.secretName, vol.secret.items);
  if (vol.projected) {
    let out = [];
    for (const src of vol.projected.sources || []) {
      if (!src.secret) continue;
      const f = fromSecret(src.secret.name, src.secret.items);
      if (f === null) return null;
      out = out.concat(f);
    }
    return out;
  }
  return [];
}

// Expands a policy's rules into "peer|port/protocol" strings. A pod peer in the release is
// "pod:<component>"; any other peer is its canonical JSON; no peers or no ports is "*".
function expand(rules, peerField, portOf) {
  const out = new Set();
  const canon = (v) => JSON.stringify(v, Object.keys(flatKeys(v)).sort());
  for (const rule of rules || []) {
    const peers = rule[peerField] && rule[peerField].length ? rule[peerField] : ['*'];
    const ports = rule.ports && rule.ports.length ? rule.ports : ['*'];
    for (const peer of peers) {
      let p = '*';
      if (peer !== '*') {
        const ml = peer.podSelector && peer.podSelector.matchLabels;
        p = (Object.keys(peer).length === 1 && ml && ml['app.kubernetes.io/component'])
          ? `pod:${ml['app.kubernetes.io/component']}` : canon(peer);
      }
      for (const port of ports) {
        const resolved = port === '*' ? '*' : `${portOf(p, port.port)}/${port.protocol || 'TCP'}`;
        out.add(`${p}|${resolved}`);
      }
    }
  }
  return out;
}

function flatKeys(v, acc = {}) {
  if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) { acc[k] = true; flatKeys(x, acc); }
  }
  return acc;
}

function checkNetworkPolicies(objects, values, fail) {
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  const workloads = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
  const canon = (v) => JSON.stringify(v, Object.keys(flatKeys(v)).sort());
  const namedPort = (comp, name) => {
    if (typeof name === 'number') return name;
    const w = workloads.find((x) => component(x) === comp);
    const cp = w && w.spec.template.spec.containers[0].ports.find((p) => p.name === name);
    return cp ? cp.containerPort : `${name}?`;
  };
  const grpc = (svc) => values[VALUES_KEY[svc]].grpcPort;
  const redisPort = values.redis.external.enabled ? values.redis.external.port : values.redis.internal.port;
  const np = values.networkPolicy;

  const components = SERVICES.concat(values.redis.external.enabled ? [] : ['redis']);
  for (const w of workloads) {
    const selecting = policies.filter((p) => Object.entries(p.spec.podSelector.matchLabels || {})
      .every(([k, v]) => w.spec.template.metadata.labels[k] === v));
    if (selecting.length !== 1) fail(w, `selected by ${selecting.length} NetworkPolicies, expected 1`);
  }
  for (const comp of components) {
    const pol = policies.find((p) => (p.spec.podSelector.matchLabels || {})['app.kubernetes.io/component'] === comp);
    if (!pol) { fail(`NetworkPolicy ${comp}`, 'missing'); continue; }
    const types = pol.spec.policyTypes || [];
    if (!types.includes('Ingress') || !types.includes('Egress')) fail(pol, 'policyTypes must be Ingress and Egress (deny by default both ways)');
    const ingress = expand(pol.spec.ingress, 'from', (peer, port) => namedPort(comp, port));
    const egress = expand(pol.spec.egress, 'to', (peer, port) => peer.startsWith('pod:') ? namedPort(peer.slice(4), port) : port);

    const wantIn = new Set();
    const wantOut = new Set();
    if (comp === 'redis') {
      for (const svc of SERVICES) wantIn.add(`pod:${svc}|${redisPort}/TCP`);
    } else {
      const v = values[VALUES_KEY[comp]];
      for (const caller of SERVICES.filter((s) => CALLS[s].includes(comp))) wantIn.add(`pod:${caller}|${grpc(comp)}/TCP`);
      for (const peer of np.prometheus) wantIn.add(`${canon(peer)}|${v.metricsPort}/TCP`);
      for (const peer of np.clients) {
        wantIn.add(`${canon(peer)}|${v.grpcPort}/TCP`);
        if (HTTP_SERVICES.includes(comp)) wantIn.add(`${canon(peer)}|${v.httpPort}/TCP`);
      }
      for (const callee of CALLS[comp]) wantOut.add(`pod:${callee}|${grpc(callee)}/TCP`);
      if (values.redis.external.enabled) {
        for (const peer of values.redis.external.networkPolicyPeers) wantOut.add(`${canon(peer)}|${redisPort}/TCP`);
      } else {
        wantOut.add(`pod:redis|${redisPort}/TCP`);
      }
      if (np.dns.enabled) {
        for (const peer of np.dns.peers) { wantOut.add(`${canon(peer)}|53/UDP`); wantOut.add(`${canon(peer)}|53/TCP`); }
      }
      if (comp === 'messaging') {
        for (const e of expand(np.messagingEgress, 'to', (peer, port) => port)) wantOut.add(e);
      }
    }
    const diff = (have, want, dir) => {
      for (const e of have) if (!want.has(e)) fail(pol, `${dir} allows ${e}, which DESIGN.md's table and the values do not`);
      for (const e of want) if (!have.has(e)) fail(pol, `${dir} lacks ${e}`);
    };
    diff(ingress, wantIn, 'ingress');
    diff(egress, wantOut, 'egress');
  }
}

// Mutations of a good rendering that the checks must catch: proof that they can fail.
function selfTest(objects, values, opts) {
  const clone = () => JSON.parse(JSON.stringify(objects));
  const dep = (objs, svc) => objs.find((o) => o.kind === 'Deployment' && component(o) === svc);
  const pol = (objs, c) => objs.find((o) => o.kind === 'NetworkPolicy' && component(o) === c);
  const cases = {
    'writable root filesystem': (o) => { dep(o, 'analysis').spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false; },
    'capabilities not dropped': (o) => { delete dep(o, 'messaging').spec.template.spec.containers[0].securityContext.capabilities; },
    'pod may run as root': (o) => { dep(o, 'randomisation').spec.template.spec.securityContext.runAsNonRoot = false; },
    'probe on the metrics port': (o) => { dep(o, 'survey-ingest').spec.template.spec.containers[0].readinessProbe = { grpc: { port: 9466 } }; },
    'no liveness probe': (o) => { delete dep(o, 'messaging').spec.template.spec.containers[0].livenessProbe; },
    'unknown FIELDWORK_ variable': (o) => { dep(o, 'randomisation').spec.template.spec.containers[0].env.push({ name: 'FIELDWORK_REDIS_ULR', value: 'x' }); },
    'address of a missing Service': (o) => { const e = dep(o, 'analysis').spec.template.spec.containers[0].env.find((x) => x.name === 'FIELDWORK_MESSAGING_ADDRESS'); e.value = 'dns:///nowhere:50052'; },
    'calls through the ClusterIP Service': (o) => { const e = dep(o, 'messaging').spec.template.spec.containers[0].env.find((x) => x.name === 'FIELDWORK_RANDOMISATION_ADDRESS'); e.value = e.value.replace('-pods:', ':'); },
    'no headless Service': (o) => { const i = o.findIndex((x) => x.kind === 'Service' && component(x) === 'survey-ingest' && x.spec.clusterIP === 'None'); o.splice(i, 1); },
    'Secret that does not exist': (o) => { dep(o, 'randomisation').spec.template.spec.volumes.find((v) => v.secret).secret.secretName = 'no-such-secret'; },
    'Secret key that does not exist': (o) => { dep(o, 'messaging').spec.template.spec.volumes.find((v) => v.secret).secret.items[0].key = 'no-such-key'; },
    'extra edge randomisation -> analysis': (o) => { pol(o, 'randomisation').spec.egress.push({ to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/component': 'analysis' } } }], ports: [{ port: 50054, protocol: 'TCP' }] }); },
    'missing edge messaging -> survey-ingest': (o) => { const p = pol(o, 'survey-ingest'); p.spec.ingress = p.spec.ingress.filter((r) => !JSON.stringify(r.from).includes('"messaging"')); },
    'allow-all ingress': (o) => { pol(o, 'randomisation').spec.ingress.push({}); },
    'volatile Redis allowed by default': (o) => { dep(o, 'analysis').spec.template.spec.containers[0].env.push({ name: 'FIELDWORK_ALLOW_VOLATILE_REDIS', value: 'true' }); },
    'Redis without AOF': (o) => { const cm = o.find((x) => x.kind === 'ConfigMap' && component(x) === 'redis'); cm.data['redis.conf'] = cm.data['redis.conf'].replace('appendonly yes', 'appendonly no'); },
    'schema violation': (o) => { dep(o, 'analysis').spec.template.spec.containers[0].ports[0].containerPort = 'fifty'; },
    'Service port not on a container': (o) => { o.find((x) => x.kind === 'Service' && component(x) === 'messaging').spec.ports[0].targetPort = 'nope'; },
    'no survey form port on survey-ingest': (o) => { const svc = o.find((x) => x.kind === 'Service' && component(x) === 'survey-ingest'); svc.spec.ports = svc.spec.ports.filter((p) => p.name !== 'http'); },
    'survey link keys without the values asking': (o) => { dep(o, 'messaging').spec.template.spec.containers[0].env.push({ name: 'FIELDWORK_SURVEY_LINK_KEYS', value: '/etc/fieldwork/survey-links/survey-link-keys' }); },
  };
  let caught = 0;
  const missed = [];
  for (const [name, mutate] of Object.entries(cases)) {
    const objs = clone();
    mutate(objs);
    if (check(objs, values, opts).length > 0) caught++; else missed.push(name);
  }
  return { total: Object.keys(cases).length, caught, missed };
}

// Every value of values.yaml is in the chart's README: a value is documented when it, or a
// parent of it at least two levels deep, appears in backticks, per-service values as
// `<service>.rest`.
function checkReadme(values, readme) {
  const prose = readme.replace(/^```[^]*?^```/gm, '');
  const documented = new Set([...prose.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]));
  const services = Object.values(VALUES_KEY);
  const missing = [];
  const walk = (v, p) => {
    const parts = p.split('.');
    const generic = services.includes(parts[0]) ? ['<service>'].concat(parts.slice(1)).join('.') : null;
    // A service's own name says nothing about its values: never accept it as a whole.
    const shortest = parts.length === 1 && services.includes(parts[0]) ? 2 : Math.min(2, parts.length);
    for (let n = parts.length; n >= shortest; n--) {
      const prefix = parts.slice(0, n).join('.');
      const gprefix = generic && generic.split('.').slice(0, n).join('.');
      if (documented.has(prefix) || (gprefix && documented.has(gprefix))) return;
    }
    if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length) {
      for (const [k, x] of Object.entries(v)) walk(x, `${p}.${k}`);
    } else {
      missing.push(p);
    }
  };
  for (const [k, v] of Object.entries(values)) walk(v, k);
  return missing;
}

// Writes the objects as a TypeScript module, each object literal typed with its
// kubernetes-models interface, so that `tsc --noEmit` rejects unknown fields at any depth
// (excess property checks), which the JSON schemas allow.
function emitTypeScript(objects, file) {
  const imports = new Map();
  const lines = [];
  objects.forEach((o, i) => {
    const base = String(o.apiVersion).startsWith('monitoring.coreos.com/')
      ? `@kubernetes-models/prometheus-operator/${o.apiVersion}/${o.kind}`
      : `kubernetes-models/${o.apiVersion}/${o.kind}`;
    const alias = `I${o.kind}_${String(o.apiVersion).replace(/[^A-Za-z0-9]/g, '_')}`;
    imports.set(alias, `import type { I${o.kind} as ${alias} } from ${JSON.stringify(base)};`);
    lines.push(`// ${id(o)}`, `export const o${i}: ${alias} = ${JSON.stringify(o, null, 2)};`);
  });
  fs.writeFileSync(file, [...imports.values()].concat(lines).join('\n') + '\n');
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.readme) {
    const missing = checkReadme(JSON.parse(fs.readFileSync(args.values, 'utf8')), fs.readFileSync(args.readme, 'utf8'));
    for (const m of missing) console.log(`  not in the README: ${m}`);
    console.log(`  ${missing.length} values undocumented`);
    process.exit(missing.length ? 1 : 0);
  }
  const objects = loadManifests(fs.readFileSync(args.manifests, 'utf8'));
  const values = JSON.parse(fs.readFileSync(args.values, 'utf8'));
  const opts = { crds: args.crds === 'yes', repo: args.repo || '.' };
  if (args.dockerfile) {
    const m = /ARG BINARIES="([^"]*)"/.exec(fs.readFileSync(args.dockerfile, 'utf8').replace(/\\\n/g, ' '));
    opts.imageBinaries = m ? m[1].split(/\s+/).filter(Boolean) : [];
  }
  if (args['emit-ts']) {
    emitTypeScript(objects, args['emit-ts']);
    return;
  }
  if (args.selfTest) {
    const base = check(objects, values, opts);
    if (base.length) { console.log(base.join('\n')); console.log('self-test: the unmutated rendering already fails'); process.exit(1); }
    const r = selfTest(objects, values, opts);
    console.log(`self-test: ${r.caught} passed, ${r.total - r.caught} failed`);
    for (const m of r.missed) console.log(`  not caught: ${m}`);
    process.exit(r.missed.length ? 1 : 0);
  }
  const fails = check(objects, values, opts);
  for (const f of fails) console.log(`  FAIL ${f}`);
  const kinds = {};
  for (const o of objects) kinds[o.kind] = (kinds[o.kind] || 0) + 1;
  console.log(`  ${objects.length} objects (${Object.entries(kinds).map(([k, n]) => `${n} ${k}`).join(', ')}), ${fails.length} failures`);
  process.exit(fails.length ? 1 : 0);
}

main();
