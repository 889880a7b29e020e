namespace MmCluster.Cli.K8s;

/// <summary>
/// The fixed shape of a run in a cluster: ports, mount paths, file names. The renderer writes them into the manifests,
/// the Dockerfiles expose the ports, and the manifest specs check both against what the programs serve.
/// </summary>
internal static class K8sLayout
{
    public const int AkkaPort = 4053;
    public const int DashboardPort = 5080;
    /// <summary>The coordinator's web dashboard (HTTP/1.1: the page, its JSON API and event stream).</summary>
    public const int WebPort = 5081;
    public const int CollectivePort = 5090;

    /// <summary>Where the run spec's ConfigMap is mounted; the spec file inside it.</summary>
    public const string SpecMount = "/etc/mmcluster";
    public const string SpecKey = "spec.yaml";

    /// <summary>Where the run-data volume (manifest, run directory, checkpoints) is mounted in every pod.</summary>
    public const string DataMount = "/data";

    /// <summary>
    /// The downward-API path of the label Kubernetes (1.27+) puts on a Job's pods: the Job's uid, the same for every pod
    /// the Job creates or recreates, and new for every new Job.
    /// </summary>
    public const string JobUidField = "metadata.labels['batch.kubernetes.io/controller-uid']";

    /// <summary>The key of the bearer token in the Secret.</summary>
    public const string TokenKey = "token";

    /// <summary>The order <c>kustomization.yaml</c> lists the files in (the Secret only when the renderer holds a token).</summary>
    public static readonly IReadOnlyList<string> Files =
    [
        "configmap.yaml", "pvc.yaml", "coordinator-service.yaml", "coordinator-job.yaml", "workers-job.yaml",
    ];

    public const string SecretFile = "secret.yaml";

    public static string CoordinatorName(string name) => $"{name}-coordinator";

    public static string WorkersName(string name) => $"{name}-workers";

    public static string SpecConfigMap(string name) => $"{name}-spec";

    public static string DataClaim(string name) => $"{name}-data";

    public static string TokenSecret(string name) => $"{name}-token";

    /// <summary>
    /// Each image's entry point (the Dockerfiles' ENTRYPOINT): the image name (after the registry, before the tag)
    /// -> the assembly <c>dotnet</c> runs. The manifests give only <c>args</c>.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> Entrypoints = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["mmcluster-coordinator"] = "MmCluster.Coordinator.dll",
        ["mmcluster-worker"] = "mmcluster.dll",
        ["mmcluster-worker-cuda"] = "mmcluster.dll",
    };

    /// <summary>The entry assembly of an image reference such as <c>ghcr.io/mmcluster/mmcluster-worker:1.0</c>.</summary>
    public static string EntrypointOf(string image)
    {
        var name = image[(image.LastIndexOf('/') + 1)..];
        var colon = name.IndexOf(':', StringComparison.Ordinal);
        name = colon < 0 ? name : name[..colon];
        return Entrypoints.TryGetValue(name, out var entry)
            ? entry
            : throw new ArgumentException($"image '{image}': unknown image '{name}' (known: {string.Join(", ", Entrypoints.Keys)})");
    }
}
