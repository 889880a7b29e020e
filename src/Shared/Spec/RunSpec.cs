namespace MmCluster.Shared.Spec;

/// <summary>
/// One run, as a user writes it in a YAML or JSON file: the manifest, the seed, the default world size and a schedule of
/// stages with dependencies. Loaded by <see cref="RunSpecLoader"/> and checked by <see cref="RunSpecValidator"/> before
/// anything starts; the coordinator then drives <see cref="Stages"/> in <see cref="StageGraph"/> order.
/// </summary>
public sealed record RunSpec
{
    /// <summary>The run's name (used in run directories and on the dashboard). Required.</summary>
    public string? Name { get; init; }

    public ManifestSpec? Manifest { get; init; }

    public long Seed { get; init; }

    /// <summary>The number of workers when the command line does not say otherwise.</summary>
    public int WorldSize { get; init; } = 1;

    public IReadOnlyList<StageSpec> Stages { get; init; } = [];

    /// <summary>How the run survives lost workers; null: it does not (a lost worker fails the run).</summary>
    public RecoverySpec? Recovery { get; init; }

    /// <summary>Where the spec came from (file, base folder for relative paths, YAML positions); empty when built in code.</summary>
    public SpecSource Source { get; init; } = SpecSource.InMemory;

    /// <summary>A path in the spec, resolved against the spec file's folder when relative.</summary>
    public string ResolvePath(string path) => Path.GetFullPath(path, Source.BaseDirectory);
}
