using System.Globalization;
using System.Text;
using static MmCluster.Cli.K8s.K8sLayout;

namespace MmCluster.Cli.K8s;

/// <summary>
/// Writes one run's Kubernetes objects as YAML files: the coordinator (a Job and a headless Service, whose DNS name is
/// the Akka seed and the dashboard's address), the workers (an Indexed Job, one pod per rank), the run spec (a
/// ConfigMap), the bearer token (a Secret), the run-data volume (a PVC). <c>k8s/base</c> is this output for
/// <c>examples/k8s/fashion-mnist-clip.yaml</c> with the defaults and no token; a spec keeps them equal.
/// </summary>
internal static class K8sManifests
{
    /// <summary>File name -> YAML text, in the order <c>kustomization.yaml</c> lists them (itself last).</summary>
    public static IReadOnlyList<(string File, string Yaml)> Render(K8sRenderOptions o)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(o.Workers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(o.Threads, 1);
        var files = new List<(string, string)>
        {
            ("configmap.yaml", ConfigMap(o)),
            ("pvc.yaml", Claim(o)),
            ("coordinator-service.yaml", Service(o)),
            ("coordinator-job.yaml", CoordinatorJob(o)),
            ("workers-job.yaml", WorkersJob(o)),
        };
        if (o.Token is not null)
        {
            files.Add((SecretFile, Secret(o)));
        }
        files.Add(("kustomization.yaml", Kustomization(o, files.Select(f => f.Item1))));
        return files;
    }

    /// <summary>The Akka address workers join: the coordinator's Service DNS name, which the coordinator also advertises.</summary>
    public static string SeedAddress(string name) => $"akka.tcp://mmcluster@{CoordinatorName(name)}:{AkkaPort}";

    private static string Labels(K8sRenderOptions o, string component, string indent) =>
        $"{indent}app.kubernetes.io/name: mmcluster\n{indent}app.kubernetes.io/instance: {o.Name}\n{indent}app.kubernetes.io/component: {component}";

    private static string Image(K8sRenderOptions o, string role) => $"{o.ImageRegistry}/mmcluster-{role}:{o.ImageTag}";

    private static string ConfigMap(K8sRenderOptions o)
    {
        var body = new StringBuilder();
        foreach (var line in o.SpecText.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n'))
        {
            body.Append(line.Length == 0 ? "\n" : $"    {line}\n");
        }
        return $$"""
            # The run spec, mounted read-only at {{SpecMount}}/{{SpecKey}} in the coordinator. Paths in it are pod paths
            # (the manifest lives on the run-data volume at {{DataMount}}).
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: {{SpecConfigMap(o.Name)}}
              labels:
            {{Labels(o, "spec", "    ")}}
            data:
              {{SpecKey}}: |
            {{body.ToString().TrimEnd('\n')}}

            """;
    }

    private static string Claim(K8sRenderOptions o) => $$"""
        # Run data shared by every pod: the Parquet manifest, the run directory (metrics.jsonl, summary.json) and the
        # checkpoints every worker writes and reads. Workers on several nodes need ReadWriteMany (NFS, CephFS, EFS,
        # Filestore); the dev-cpu overlay switches to ReadWriteOnce for a one-node cluster.
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata:
          name: {{DataClaim(o.Name)}}
          labels:
        {{Labels(o, "data", "    ")}}
        spec:
          accessModes: [ReadWriteMany]
          resources:
            requests:
              storage: {{o.Storage}}

        """;

    private static string Service(K8sRenderOptions o) => $$"""
        # Headless Service: a stable DNS name for the coordinator pod. It is the Akka seed node's host name (the
        # coordinator advertises it, workers join it) and the dashboards' address (gRPC on 'dashboard', the web page on
        # 'web': kubectl port-forward svc/<name> 5081). publishNotReadyAddresses: workers may resolve it while the
        # coordinator is still importing or planning the manifest.
        apiVersion: v1
        kind: Service
        metadata:
          name: {{CoordinatorName(o.Name)}}
          labels:
        {{Labels(o, "coordinator", "    ")}}
        spec:
          clusterIP: None
          publishNotReadyAddresses: true
          selector:
        {{Labels(o, "coordinator", "    ")}}
          ports:
            - name: akka
              port: {{AkkaPort}}
              targetPort: {{AkkaPort}}
            - name: dashboard
              port: {{DashboardPort}}
              targetPort: {{DashboardPort}}
              appProtocol: kubernetes.io/h2c
            - name: web
              port: {{WebPort}}
              targetPort: {{WebPort}}
              appProtocol: http

        """;

    private static string CoordinatorJob(K8sRenderOptions o) => $$"""
        # The coordinator: seed node, shard ledger and dashboard of one run. It exits 0 when every worker finished, 1
        # when the run failed, 2 on a bad spec: those fail the Job at once. A coordinator that crashed (70: an
        # unexpected exception) or was killed (OOM, SIGKILL: any other exit) is restarted by the Job and, with MMCLUSTER_RESUME_UNFINISHED, resumes the run
        # from its journal on the volume (docs/fault-tolerance.md); a disrupted pod (preempted, evicted) likewise,
        # without counting against backoffLimit.
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: {{CoordinatorName(o.Name)}}
          labels:
        {{Labels(o, "coordinator", "    ")}}
        spec:
          completions: 1
          parallelism: 1
          backoffLimit: 3
          ttlSecondsAfterFinished: 86400
          podFailurePolicy:
            rules:
              - action: Ignore
                onPodConditions:
                  - type: DisruptionTarget
              - action: FailJob
                onExitCodes:
                  containerName: coordinator
                  operator: In
                  values: [1, 2]
          template:
            metadata:
              labels:
        {{Labels(o, "coordinator", "        ")}}
            spec:
              restartPolicy: Never
              automountServiceAccountToken: false
              terminationGracePeriodSeconds: 30
              securityContext:
                runAsNonRoot: true
                runAsUser: 1654
                runAsGroup: 1654
                fsGroup: 1654
              containers:
                - name: coordinator
                  image: {{Image(o, "coordinator")}}
                  args: [coordinator]
                  env:
                    - name: MMCLUSTER_SPEC
                      value: {{SpecMount}}/{{SpecKey}}
                    - name: MMCLUSTER_RUN_DIR
                      value: {{DataMount}}/runs/{{o.Name}}
                    - name: MMCLUSTER_WORKERS
                      value: "{{o.Workers.ToString(CultureInfo.InvariantCulture)}}"
                    - name: MMCLUSTER_HOST
                      value: 0.0.0.0
                    - name: MMCLUSTER_PUBLIC_HOST
                      value: {{CoordinatorName(o.Name)}}
                    - name: MMCLUSTER_PORT
                      value: "{{AkkaPort}}"
                    - name: MMCLUSTER_DASHBOARD_HOST
                      value: 0.0.0.0
                    - name: MMCLUSTER_DASHBOARD_PORT
                      value: "{{DashboardPort}}"
                    - name: MMCLUSTER_WEB_PORT
                      value: "{{WebPort}}"
                    - name: MMCLUSTER_THREADS
                      value: "{{o.Threads.ToString(CultureInfo.InvariantCulture)}}"
                    - name: MMCLUSTER_RENDEZVOUS_TIMEOUT
                      value: "1800"
                    - name: MMCLUSTER_RESUME_UNFINISHED
                      value: "true"
                    - name: MMCLUSTER_TOKEN
                      valueFrom:
                        secretKeyRef:
                          name: {{TokenSecret(o.Name)}}
                          key: {{TokenKey}}
                  ports:
                    - name: akka
                      containerPort: {{AkkaPort}}
                    - name: dashboard
                      containerPort: {{DashboardPort}}
                    - name: web
                      containerPort: {{WebPort}}
        {{Probes(DashboardPort, "          ")}}
                  resources:
                    requests:
                      cpu: "1"
                      memory: 1Gi
                    limits:
                      memory: 2Gi
                  securityContext:
                    allowPrivilegeEscalation: false
                    readOnlyRootFilesystem: true
                    capabilities:
                      drop: [ALL]
                  volumeMounts:
                    - name: spec
                      mountPath: {{SpecMount}}
                      readOnly: true
                    - name: data
                      mountPath: {{DataMount}}
                    - name: tmp
                      mountPath: /tmp
              volumes:
                - name: spec
                  configMap:
                    name: {{SpecConfigMap(o.Name)}}
                - name: data
                  persistentVolumeClaim:
                    claimName: {{DataClaim(o.Name)}}
                - name: tmp
                  emptyDir: {}

        """;

    private static string WorkersJob(K8sRenderOptions o) => $$"""
        # The workers: an Indexed Job, one pod per rank (worker id worker-$JOB_COMPLETION_INDEX). A pod that dies (killed,
        # OOM, crashed: any exit code but 0, 2 and 3) is recreated with the same index, so its replacement takes the same
        # worker id and rejoins the run (docs/fault-tolerance.md); a disrupted pod (preempted, evicted) is replaced without
        # counting against backoffLimit. Exit 2 (bad arguments) and 3 (the coordinator ended the run or refused the worker)
        # fail the Job: restarting cannot help.
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: {{WorkersName(o.Name)}}
          labels:
        {{Labels(o, "worker", "    ")}}
        spec:
          completionMode: Indexed
          completions: {{o.Workers.ToString(CultureInfo.InvariantCulture)}}
          parallelism: {{o.Workers.ToString(CultureInfo.InvariantCulture)}}
          backoffLimit: 10
          ttlSecondsAfterFinished: 86400
          podFailurePolicy:
            rules:
              - action: Ignore
                onPodConditions:
                  - type: DisruptionTarget
              - action: FailJob
                onExitCodes:
                  containerName: worker
                  operator: In
                  values: [2, 3]
          template:
            metadata:
              labels:
        {{Labels(o, "worker", "        ")}}
            spec:
              restartPolicy: Never
              automountServiceAccountToken: false
              terminationGracePeriodSeconds: 30
              securityContext:
                runAsNonRoot: true
                runAsUser: 1654
                runAsGroup: 1654
                fsGroup: 1654
              containers:
                - name: worker
                  image: {{Image(o, "worker")}}
                  args: [worker]
                  env:
                    - name: MMCLUSTER_COORDINATOR
                      value: {{SeedAddress(o.Name)}}
                    - name: MMCLUSTER_HOST
                      value: 0.0.0.0
                    - name: MMCLUSTER_PUBLIC_HOST
                      valueFrom:
                        fieldRef:
                          fieldPath: status.podIP
                    - name: MMCLUSTER_PORT
                      value: "{{AkkaPort}}"
                    - name: MMCLUSTER_GRPC_PORT
                      value: "{{CollectivePort}}"
                    - name: MMCLUSTER_THREADS
                      value: "{{o.Threads.ToString(CultureInfo.InvariantCulture)}}"
                    - name: MMCLUSTER_RUN_DIR
                      value: {{DataMount}}/runs/{{o.Name}}
                    - name: MMCLUSTER_JOB_UID
                      valueFrom:
                        fieldRef:
                          fieldPath: {{JobUidField}}
                    - name: MMCLUSTER_TOKEN
                      valueFrom:
                        secretKeyRef:
                          name: {{TokenSecret(o.Name)}}
                          key: {{TokenKey}}
                  ports:
                    - name: akka
                      containerPort: {{AkkaPort}}
                    - name: collectives
                      containerPort: {{CollectivePort}}
        {{Probes(CollectivePort, "          ")}}
                  resources:
                    requests:
                      cpu: "{{o.Threads.ToString(CultureInfo.InvariantCulture)}}"
                      memory: 4Gi
                    limits:
                      memory: 8Gi
                  securityContext:
                    allowPrivilegeEscalation: false
                    readOnlyRootFilesystem: true
                    capabilities:
                      drop: [ALL]
                  volumeMounts:
                    - name: data
                      mountPath: {{DataMount}}
                    - name: tmp
                      mountPath: /tmp
              volumes:
                - name: data
                  persistentVolumeClaim:
                    claimName: {{DataClaim(o.Name)}}
                - name: tmp
                  emptyDir: {}

        """;

    /// <summary>
    /// gRPC health probes (grpc.health.v1, served without a token) on a port the process serves. The startup probe
    /// allows 30 minutes: the coordinator may import and plan the manifest before it serves anything.
    /// </summary>
    private static string Probes(int port, string indent) => string.Join('\n', $$"""
        startupProbe:
          grpc:
            port: {{port}}
          periodSeconds: 10
          failureThreshold: 180
        readinessProbe:
          grpc:
            port: {{port}}
          periodSeconds: 10
        livenessProbe:
          grpc:
            port: {{port}}
          periodSeconds: 20
          timeoutSeconds: 5
          failureThreshold: 6
        """.Split('\n').Select(line => indent + line));

    private static string Secret(K8sRenderOptions o) => $$"""
        # The bearer token of the dashboard and the collectives (MMCLUSTER_TOKEN in every pod). Generated by
        # mmcluster k8s render; do not commit it.
        apiVersion: v1
        kind: Secret
        metadata:
          name: {{TokenSecret(o.Name)}}
          labels:
        {{Labels(o, "token", "    ")}}
        type: Opaque
        stringData:
          {{TokenKey}}: "{{o.Token}}"

        """;

    private static string Kustomization(K8sRenderOptions o, IEnumerable<string> resources)
    {
        var list = string.Join('\n', resources.Select(r => $"  - {r}"));
        var secret = o.Token is null
            ? $"""
              # The bearer token is not here: create it once per namespace (never commit it), e.g.
              #   kubectl create secret generic {TokenSecret(o.Name)} --from-literal={TokenKey}=$(openssl rand -hex 16)

              """
            : "";
        return $"""
            # One MmCluster run: coordinator Job + headless Service, workers Indexed Job, spec ConfigMap, run-data PVC.
            # Rendered by: mmcluster k8s render --spec SPEC --workers {o.Workers} --image-tag {o.ImageTag}
            {secret}apiVersion: kustomize.config.k8s.io/v1beta1
            kind: Kustomization
            resources:
            {list}

            """;
    }
}
