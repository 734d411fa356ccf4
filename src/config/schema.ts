import os from 'node:os';

function ratio(value: unknown): void {
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) throw new Error('must be a number in (0, 1]');
}

/** Largest `bridge.maxItemBytes`: a whole item escaped as JSON (up to 6 characters a byte) stays within V8's string limit. */
const MAX_ITEM_BYTES_LIMIT = 64 * 1024 * 1024;

function itemBytes(value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_ITEM_BYTES_LIMIT) {
    throw new Error(`must be an integer from 1 to ${MAX_ITEM_BYTES_LIMIT} (64 MiB)`);
  }
}

function positiveNumber(value: unknown): void {
  if (typeof value !== 'number' || !(value > 0)) throw new Error('must be a number > 0');
}

/**
 * The convict schema: every key of CONTRACT.md "Configuration" with its env var, plus the service's
 * own tunables. `queues` is not here: it is a map of queue entries validated by `queue-schema.ts`.
 */
export const schema = {
  env: { doc: 'Environment name; selects config/<env>.json', format: String, default: 'development', env: 'NODE_ENV' },
  redis: {
    url: {
      doc: 'redis:// or rediss:// URL (user, password, db); wins over host, port and every part it states',
      format: String,
      default: '',
      env: 'REDIS_URL',
      sensitive: true,
    },
    host: { doc: 'Redis host', format: String, default: '127.0.0.1', env: 'REDIS_HOST' },
    port: { doc: 'Redis port', format: 'port', default: 6379, env: 'REDIS_PORT' },
    db: { doc: 'Redis database index', format: 'nat', default: 0, env: 'REDIS_DB' },
    username: { doc: 'Redis ACL user (empty: the default user)', format: String, default: '', env: 'REDIS_USERNAME' },
    password: { doc: 'Redis password', format: String, default: '', env: 'REDIS_PASSWORD', sensitive: true },
    prefix: {
      doc: 'Key prefix of everything the service keeps in Redis',
      format: String,
      default: 'bull',
      env: 'REDIS_PREFIX',
    },
    tls: {
      enabled: {
        doc: 'Connect with TLS (also on with rediss:// or a CA/cert file)',
        format: Boolean,
        default: false,
        env: 'REDIS_TLS',
      },
      caFile: {
        doc: 'PEM file of the CA that signed the server certificate (empty: the system CAs)',
        format: String,
        default: '',
        env: 'REDIS_TLS_CA_FILE',
      },
      certFile: {
        doc: 'PEM client certificate (with keyFile), when the server asks for one',
        format: String,
        default: '',
        env: 'REDIS_TLS_CERT_FILE',
      },
      keyFile: { doc: 'PEM private key of certFile', format: String, default: '', env: 'REDIS_TLS_KEY_FILE' },
      servername: {
        doc: 'Name the server certificate must carry (empty: the host)',
        format: String,
        default: '',
        env: 'REDIS_TLS_SERVERNAME',
      },
      verify: {
        doc: 'Verify the server certificate (false only for a throw-away test server)',
        format: Boolean,
        default: true,
      },
    },
    sentinels: {
      doc: 'Sentinels (host:port list); set: the master is found through them',
      format: Array,
      default: [] as string[],
      env: 'REDIS_SENTINELS',
    },
    sentinelName: {
      doc: 'Name of the master the sentinels watch',
      format: String,
      default: '',
      env: 'REDIS_SENTINEL_NAME',
    },
    sentinelPassword: {
      doc: 'Password of the sentinels',
      format: String,
      default: '',
      env: 'REDIS_SENTINEL_PASSWORD',
      sensitive: true,
    },
    waitReplicas: {
      doc: 'Replicas that must acknowledge a result entry or a bridged batch before the service goes on (WAIT); -1: 1 with Sentinel, else 0',
      format: 'int',
      default: -1,
    },
    waitTimeoutMs: { doc: 'Longest WAIT for those replicas', format: 'positive-int', default: 1000 },
  },
  portal: {
    url: { doc: 'Portal the flows drive', format: String, default: 'http://127.0.0.1:8080', env: 'PORTAL_URL' },
    user: { doc: 'Portal user', format: String, default: '', env: 'RPA_USUARIO', sensitive: true },
    password: { doc: 'Portal password', format: String, default: '', env: 'RPA_SENHA', sensitive: true },
  },
  browser: {
    executablePath: {
      doc: 'Chromium binary; empty: chromium-headless-shell, chromium, then Playwright’s own',
      format: String,
      default: '',
      env: 'BROWSER_EXECUTABLE_PATH',
    },
    headless: { doc: 'Run Chromium headless', format: Boolean, default: true },
    args: { doc: 'Extra Chromium flags', format: Array, default: [] as string[] },
    launchTimeoutMs: { doc: 'Browser launch timeout', format: 'nat', default: 60_000 },
    recycleAfterJobs: { doc: 'Relaunch a browser after this many jobs (0 = never)', format: 'nat', default: 500 },
    maxMemoryMb: {
      doc: 'Relaunch a browser, between jobs, whose whole process tree passes this PSS in MB (0 = never)',
      format: 'nat',
      default: 600,
    },
    collectGarbageEveryJobs: {
      doc: "Run a full garbage collection in the page's renderer every this many jobs (0 = never)",
      format: 'nat',
      default: 10,
    },
    memoryCheckEveryJobs: {
      doc: "Measure the browser's process tree (for maxMemoryMb and /metrics) every this many jobs (0 = never)",
      format: 'nat',
      default: 10,
    },
  },
  http: {
    enabled: { doc: 'Serve the HTTP surface', format: Boolean, default: true },
    host: { doc: 'HTTP listen address', format: String, default: '127.0.0.1', env: 'HTTP_HOST' },
    port: { doc: 'HTTP port', format: 'port', default: 3000, env: 'HTTP_PORT' },
    auth: {
      user: { doc: 'Basic auth user', format: String, default: '', env: 'BOARD_USER', sensitive: true },
      password: { doc: 'Basic auth password', format: String, default: '', env: 'BOARD_PASSWORD', sensitive: true },
    },
  },
  log: {
    level: {
      doc: 'Log level',
      format: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'],
      default: 'info',
      env: 'LOG_LEVEL',
    },
    file: { doc: 'Log file (empty: console only)', format: String, default: 'logs/main_rpa.log', env: 'LOG_FILE' },
    format: { doc: 'Log format', format: ['text', 'json'], default: 'text', env: 'LOG_FORMAT' },
    maxSizeMb: {
      doc: 'Rotate the log file at this size in MiB (0 = never)',
      format: 'nat',
      default: 50,
      env: 'LOG_MAX_SIZE_MB',
    },
    maxFiles: {
      doc: 'Log files kept by the rotation, the current one included',
      format: 'positive-int',
      default: 5,
      env: 'LOG_MAX_FILES',
    },
  },
  scaler: {
    intervalSeconds: {
      doc: 'Seconds between scaling evaluations',
      format: 'positive-int',
      default: 60,
      env: 'SCALER_INTERVAL_SECONDS',
    },
    jobsPerWorker: {
      doc: 'Pending jobs per worker (the rule’s divisor)',
      format: 'positive-int',
      default: 50,
      env: 'SCALER_JOBS_PER_WORKER',
    },
    minWorkers: { doc: 'Workers kept per queue even when idle', format: 'nat', default: 0 },
    maxWorkersPerQueue: {
      doc: 'Most workers of one queue',
      format: 'nat',
      default: 10,
      env: 'SCALER_MAX_WORKERS_PER_QUEUE',
    },
    maxTotalWorkers: { doc: 'Most workers in all', format: 'nat', default: 20, env: 'SCALER_MAX_TOTAL_WORKERS' },
    stabilizationSeconds: {
      doc: 'Scale-down waits until the excess lasted this long (-1: one interval)',
      format: 'int',
      default: -1,
    },
    debounceMs: {
      doc: 'Early evaluation after new items, at most this often (and, counted apart, after finished jobs or a capacity change)',
      format: 'nat',
      default: 1000,
    },
    equilibriumLogLevel: {
      doc: 'Level of [EQUILIBRIO] lines',
      format: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'],
      default: 'debug',
    },
    historyMaxLen: { doc: 'Decisions kept in the Redis stream', format: 'positive-int', default: 10_000 },
    stalledIntervalMs: { doc: 'Stalled-job check interval', format: 'positive-int', default: 30_000 },
  },
  capacity: {
    enabled: {
      doc: 'Bound the pool by what this machine can run (false: the plain rule)',
      format: Boolean,
      default: true,
      env: 'CAPACITY_ENABLED',
    },
    unitCpuHalfLifeSeconds: {
      doc: 'The measured CPU per busy unit follows the last this many busy unit-seconds (half-life)',
      format: positiveNumber,
      default: 30,
    },
    unitCpuMinBusySeconds: {
      doc: 'Busy unit-seconds a queue needs before its CPU per unit bounds it',
      format: positiveNumber,
      default: 4,
    },
    minUnits: { doc: 'Never fewer units than this, whatever the load', format: 'nat', default: 1 },
    maxUnits: { doc: "This instance's own ceiling of units (0 = none)", format: 'nat', default: 0 },
    maxLaunching: {
      doc: 'Browsers launching at once on this instance (0 = one per two cores); the next launch waits its turn',
      format: 'nat',
      default: 0,
    },
    maxCpuRatio: { doc: 'A sample at or above this CPU share is overloaded', format: ratio, default: 0.95 },
    minFreeCpuRatio: {
      doc: 'Share of the cores the units may always use, however busy other processes keep the machine',
      format: ratio,
      default: 0.1,
    },
    maxMemoryRatio: { doc: 'A sample at or above this memory share is overloaded', format: ratio, default: 0.9 },
    maxEventLoopDelayMs: {
      doc: 'A sample with this event-loop delay (p99) is overloaded',
      format: 'nat',
      default: 250,
    },
    overloadedRatio: { doc: 'Overloaded share of the short window that stops new units', format: ratio, default: 0.4 },
    shortWindowSeconds: { doc: 'Short load window', format: 'positive-int', default: 5 },
    longWindowSeconds: { doc: 'Long load window', format: 'positive-int', default: 30 },
    maxMemoryMb: {
      doc: 'Memory budget of all browsers of this instance in MB (0 = headroom only)',
      format: 'nat',
      default: 0,
    },
    unitMemoryMb: { doc: 'Assumed PSS of one browser until one is measured', format: 'positive-int', default: 150 },
    reserveMemoryMb: { doc: 'Memory left for everything but new browsers', format: 'nat', default: 512 },
    minJobSamples: { doc: 'Job times needed before a learned divisor applies', format: 'positive-int', default: 20 },
  },
  bridge: {
    batchSize: {
      doc: 'Most items moved per batch',
      format: 'positive-int',
      default: 500,
      env: 'BRIDGE_BATCH_SIZE',
    },
    maxItemBytes: {
      doc: 'Larger items are invalid, set aside inside Redis before they reach the service (at most 64 MiB)',
      format: itemBytes,
      default: 1_048_576,
      env: 'BRIDGE_MAX_ITEM_BYTES',
    },
    maxBatchBytes: {
      doc: 'Most bytes of items one batch reads into the service (at least one item per batch)',
      format: 'positive-int',
      default: 8_388_608,
      env: 'BRIDGE_MAX_BATCH_BYTES',
    },
    oversizedMaxItems: {
      doc: 'Oversized items whose exact bytes are kept in <sourceList>:invalid:oversized; past it, only their start, length and hash',
      format: 'nat',
      default: 10,
      env: 'BRIDGE_OVERSIZED_MAX_ITEMS',
    },
    oversizedMaxBytes: {
      doc: 'Bytes of oversized items kept in <sourceList>:invalid:oversized',
      format: 'nat',
      default: 268_435_456,
      env: 'BRIDGE_OVERSIZED_MAX_BYTES',
    },
    invalidMaxItems: {
      doc: 'Entries kept in <sourceList>:invalid; past it the oldest are dropped (logged, counted)',
      format: 'positive-int',
      default: 10_000,
      env: 'BRIDGE_INVALID_MAX_ITEMS',
    },
    invalidMaxBytes: {
      doc: 'Bytes (Redis MEMORY USAGE) kept in <sourceList>:invalid; past it the oldest entries are dropped',
      format: 'positive-int',
      default: 67_108_864,
      env: 'BRIDGE_INVALID_MAX_BYTES',
    },
    maxWaiting: {
      doc: 'Stop moving above this many waiting jobs (0 = no limit)',
      format: 'nat',
      default: 100_000,
      env: 'BRIDGE_MAX_WAITING',
    },
    blockSeconds: {
      doc: 'An idle bridge (empty list) goes round its loop at least this often',
      format: 'positive-int',
      default: 5,
      env: 'BRIDGE_BLOCK_SECONDS',
    },
    id: {
      doc: 'Bridge id (owns its processing lists); empty: instance.id (unique per process). Set it for one stable across restarts',
      format: String,
      default: '',
      env: 'BRIDGE_ID',
    },
  },
  jobs: {
    attempts: { doc: 'Attempts per job', format: 'positive-int', default: 3, env: 'JOB_ATTEMPTS' },
    backoffMs: { doc: 'First retry delay (doubles each attempt)', format: 'nat', default: 5000, env: 'JOB_BACKOFF_MS' },
    timeoutSeconds: { doc: 'Per-attempt timeout', format: 'positive-int', default: 300 },
    keepCompletedSeconds: {
      doc: 'A completed job counts as retained this long: an item with its id is a duplicate (its id is remembered)',
      format: 'nat',
      default: 86_400,
      env: 'JOB_KEEP_COMPLETED_SECONDS',
    },
    keepCompletedJobSeconds: {
      doc: 'The whole completed job (payload, result, Bull Board, items history) is kept this long (at most keepCompletedSeconds)',
      format: 'nat',
      default: 1_800,
      env: 'JOB_KEEP_COMPLETED_JOB_SECONDS',
    },
    keepFailedSeconds: {
      doc: 'Failed jobs kept this long',
      format: 'nat',
      default: 604_800,
      env: 'JOB_KEEP_FAILED_SECONDS',
    },
    lockSeconds: {
      doc: 'Job lock; a job whose worker died returns to waiting after this (plus the stalled check)',
      format: 'positive-int',
      default: 30,
    },
  },
  instance: {
    id: {
      doc: 'This instance in the pool (unique among the instances sharing one Redis)',
      format: String,
      default: `${os.hostname()}-${process.pid}`,
      env: 'INSTANCE_ID',
    },
    maxWorkers: {
      doc: 'Most worker units this instance may run (-1: scaler.maxTotalWorkers)',
      format: 'int',
      default: -1,
      env: 'INSTANCE_MAX_WORKERS',
    },
    heartbeatMs: {
      doc: 'Heartbeat interval; an instance silent for 3 beats is dead',
      format: 'positive-int',
      default: 2000,
    },
  },
  artifactsDir: { doc: 'Screenshots of failing attempts', format: String, default: 'artifacts' },
  artifacts: {
    maxMb: {
      doc: 'Most MiB the artifacts folder may hold; the oldest files are deleted past it (0 = no size bound)',
      format: 'nat',
      default: 1024,
    },
    sweepIntervalSeconds: {
      doc: 'How often artifacts older than jobs.keepFailedSeconds, or past artifacts.maxMb, are deleted',
      format: 'positive-int',
      default: 600,
    },
  },
  shutdown: {
    timeoutSeconds: { doc: 'Graceful shutdown budget before forcing', format: 'positive-int', default: 30 },
  },
  metrics: {
    retentionDays: {
      doc: 'Days the pool history (per-minute counts, job times, pending, workers) is kept in Redis',
      format: 'positive-int',
      default: 7,
    },
  },
  alerts: {
    webhookUrl: {
      doc: 'POST alerts here as JSON (empty: log only); user:password in it is sent as basic auth',
      format: String,
      default: '',
      sensitive: true,
    },
    cooldownSeconds: { doc: 'Minimum time between two firings of a rule', format: 'nat', default: 900 },
    evaluateSeconds: { doc: 'Alert evaluation interval', format: 'positive-int', default: 15 },
    rules: { doc: 'Alert rules', format: 'alert-rules', default: [] as unknown[] },
  },
} as const;
