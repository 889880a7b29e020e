namespace MmCluster.Shared.Spec;

/// <summary>Builds and splits YAML paths of the form <c>stages[1].init.freeze[0]</c>.</summary>
public static class SpecPath
{
    public static string Field(string parent, string name) => parent.Length == 0 ? name : $"{parent}.{name}";

    public static string Item(string parent, int index) => $"{parent}[{index}]";

    public static string Parent(string path)
    {
        var cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
        return cut <= 0 ? "" : path[..cut];
    }
}
