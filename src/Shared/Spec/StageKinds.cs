namespace MmCluster.Shared.Spec;

/// <summary>The spelling of <see cref="StageKind"/> in spec files (<c>clip</c>, <c>lm</c>, <c>blip2-stage1</c>, <c>blip2-stage2</c>, <c>llava-align</c>, <c>llava-instruct</c>, <c>instructblip</c>, <c>plora</c>).</summary>
public static class StageKinds
{
    private static readonly (StageKind Kind, string Name)[] Names =
    [
        (StageKind.Clip, "clip"),
        (StageKind.Lm, "lm"),
        (StageKind.Blip2Stage1, "blip2-stage1"),
        (StageKind.Blip2Stage2, "blip2-stage2"),
        (StageKind.LlavaAlign, "llava-align"),
        (StageKind.LlavaInstruct, "llava-instruct"),
        (StageKind.InstructBlip, "instructblip"),
        (StageKind.Plora, "plora"),
    ];

    public static IReadOnlyList<string> All { get; } = Names.Select(n => n.Name).ToArray();

    public static string ToName(this StageKind kind) => Names.First(n => n.Kind == kind).Name;

    public static bool TryParse(string? name, out StageKind kind)
    {
        foreach (var (k, n) in Names)
        {
            if (string.Equals(n, name, StringComparison.Ordinal))
            {
                kind = k;
                return true;
            }
        }
        kind = default;
        return false;
    }
}
