namespace MmCluster.Shared.Spec;

/// <summary>
/// Where a <see cref="RunSpec"/> came from: the file (for messages), the folder relative paths resolve against, and the
/// position of every value by its YAML path (<c>stages[1].depends_on[0]</c>) so checks done after loading still point at
/// a line.
/// </summary>
public sealed class SpecSource
{
    public static readonly SpecSource InMemory = new(null, Directory.GetCurrentDirectory(), new Dictionary<string, SpecPosition>());

    public SpecSource(string? filePath, string baseDirectory, IReadOnlyDictionary<string, SpecPosition> positions)
    {
        FilePath = filePath;
        BaseDirectory = baseDirectory;
        Positions = positions;
    }

    public string? FilePath { get; }

    public string BaseDirectory { get; }

    public IReadOnlyDictionary<string, SpecPosition> Positions { get; }

    /// <summary>The position of <paramref name="path"/>, or of its nearest ancestor that has one (a missing field points at its parent).</summary>
    public SpecPosition? Locate(string path)
    {
        var current = path;
        while (current.Length > 0)
        {
            if (Positions.TryGetValue(current, out var position))
            {
                return position;
            }
            current = SpecPath.Parent(current);
        }
        return Positions.TryGetValue("", out var root) ? root : null;
    }

    /// <summary>A problem at <paramref name="path"/>, located in this source.</summary>
    public SpecProblem Problem(string path, string message)
    {
        var position = Locate(path);
        return new SpecProblem(FilePath, path, position?.Line, position?.Column, message);
    }
}
