namespace MmCluster.Cli.K8s;

/// <summary>What <c>mmcluster k8s render</c> needs to write one run's manifests.</summary>
internal sealed record K8sRenderOptions
{
    /// <summary>The run spec's text (goes verbatim into the ConfigMap).</summary>
    public required string SpecText { get; init; }

    /// <summary>Number of workers: the Indexed Job's parallelism and completions and the coordinator's --workers.</summary>
    public required int Workers { get; init; }

    /// <summary>Image tag of both images.</summary>
    public string ImageTag { get; init; } = "latest";

    /// <summary>Registry and path prefix of the images (<c>{registry}/mmcluster-coordinator:{tag}</c>).</summary>
    public string ImageRegistry { get; init; } = "ghcr.io/mmcluster";

    /// <summary>Prefix of every object's name and the <c>app.kubernetes.io/instance</c> label.</summary>
    public string Name { get; init; } = "mmcluster";

    /// <summary>Torch threads (and CPU request) per worker.</summary>
    public int Threads { get; init; } = 2;

    /// <summary>The bearer token to put in the Secret; null: the Secret is created outside (the base: never commit a token).</summary>
    public string? Token { get; init; }

    /// <summary>Size of the run-data PersistentVolumeClaim (manifest, run directory, checkpoints).</summary>
    public string Storage { get; init; } = "50Gi";
}
