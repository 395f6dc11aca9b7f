// Marathon API answers written for the tests: the shapes of GET
// /v2/apps?embed=apps.tasks and GET /v2/pods/::status, with only the fields
// meshlite reads plus a few it must ignore.
type Json = Record<string, unknown>;

/** A task of an app on host networking: one host port per port definition. */
export function hostTask(appId: string, n: number, host: string, ports: number[], alive: boolean[] = [true]): Json {
  return {
    id: `${appId.replace(/^\//, '').replaceAll('/', '_')}.task-${n}`,
    appId,
    host,
    ipAddresses: [{ ipAddress: host, protocol: 'IPv4' }],
    ports,
    state: 'TASK_RUNNING',
    startedAt: '2024-05-01T10:00:00.000Z',
    healthCheckResults: alive.map((a) => ({ alive: a, consecutiveFailures: a ? 0 : 3, taskId: `t${n}` })),
  };
}

/** An app on host networking whose service port 8000 is HTTP, with one health check. */
export function hostApp(id: string, tasks: Json[], extra: Json = {}): Json {
  return {
    id,
    cmd: 'run-the-service',
    instances: tasks.length,
    cpus: 0.1,
    mem: 64,
    env: {},
    labels: {},
    portDefinitions: [{ port: 8000, protocol: 'tcp', name: 'http', labels: {} }],
    healthChecks: [{ protocol: 'MESOS_HTTP', path: '/status', portIndex: 0 }],
    tasks,
    ...extra,
  };
}

/** A Docker app on bridge networking: container port 9080 published on a host port, a VIP in front. */
export function bridgeApp(id: string, tasks: Json[]): Json {
  return {
    id,
    instances: tasks.length,
    env: { SERVICE_NAME: 'reviews', INBOUND_PORTS: '9080' },
    labels: { 'meshlite.io/namespace': 'shop', 'meshlite.io/sidecar': 'true', HAPROXY_GROUP: 'internal' },
    container: {
      type: 'DOCKER',
      docker: { image: 'example/reviews:2' },
      portMappings: [
        { containerPort: 9080, hostPort: 0, servicePort: 10101, protocol: 'tcp', name: 'http-api', labels: { VIP_0: '/reviews:9080' } },
        { containerPort: 9901, hostPort: 0, protocol: 'tcp', name: 'admin' },
        { containerPort: 5353, hostPort: 0, protocol: 'udp', name: 'dns' },
      ],
    },
    networks: [{ mode: 'container/bridge' }],
    healthChecks: [],
    tasks,
  };
}

/** A pod with an application container and a proxy container beside it. */
export function podStatus(id: string, instances: Json[]): Json {
  return {
    id,
    spec: {
      id,
      labels: {},
      environment: { SERVICE_NAME: 'ratings' },
      networks: [{ mode: 'host' }],
      containers: [
        {
          name: 'app',
          resources: { cpus: 0.1, mem: 32 },
          endpoints: [{ name: 'grpc-api', containerPort: 7070, hostPort: 0, protocol: ['tcp'], labels: { VIP_0: '10.200.0.7:7000' } }],
        },
        { name: 'istio-proxy', resources: { cpus: 0.1, mem: 64 }, endpoints: [{ name: 'proxy-admin', hostPort: 0, protocol: ['tcp'] }] },
      ],
    },
    status: 'STABLE',
    instances,
  };
}

export function podInstance(n: number, agent: string, port: number, status = 'STABLE', healthy = true): Json {
  return {
    id: `ratings.instance-${n}`,
    status,
    agentHostname: agent,
    networks: [],
    containers: [
      { name: 'app', status: 'TASK_RUNNING', endpoints: [{ name: 'grpc-api', allocatedHostPort: port, healthy }] },
      { name: 'istio-proxy', status: 'TASK_RUNNING', endpoints: [{ name: 'proxy-admin', allocatedHostPort: port + 1 }] },
    ],
  };
}
