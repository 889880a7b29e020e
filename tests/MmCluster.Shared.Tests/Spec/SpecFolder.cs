using MmCluster.Shared.Spec;

namespace MmCluster.Shared.Tests.Spec;

/// <summary>A temporary folder that spec text is parsed in (as <c>run.yaml</c>), with the sub-folders the spec names.</summary>
internal sealed class SpecFolder : IDisposable
{
    public SpecFolder(params string[] folders)
    {
        Path = Directory.CreateTempSubdirectory("spec-").FullName;
        foreach (var folder in folders)
        {
            Directory.CreateDirectory(Combine(folder));
        }
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public (RunSpec? Spec, IReadOnlyList<SpecProblem> Problems) Parse(string yaml) => RunSpecLoader.Parse(yaml, "run.yaml", Path);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
