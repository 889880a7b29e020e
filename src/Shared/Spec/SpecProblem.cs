namespace MmCluster.Shared.Spec;

/// <summary>One thing wrong with a run spec: where (file, YAML path, line and column when known) and what.</summary>
public sealed record SpecProblem(string? File, string Path, int? Line, int? Column, string Message)
{
    public override string ToString()
    {
        var where = File ?? "<spec>";
        if (Line is { } line)
        {
            where += Column is { } column ? $":{line}:{column}" : $":{line}";
        }
        return Path.Length == 0 ? $"{where}: {Message}" : $"{where}: {Path}: {Message}";
    }
}
