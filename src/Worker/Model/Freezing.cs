using static TorchSharp.torch;

namespace MmCluster.Worker.Model;

/// <summary>
/// Freezes parameters by state_dict prefix (requires_grad = false): frozen parameters get no gradient, the trainers leave
/// them out of AdamW, and <c>GradientAverager</c> skips them, so they stay bit-for-bit unchanged.
/// </summary>
public static class Freezing
{
    /// <returns>The names frozen, in state_dict order.</returns>
    public static IReadOnlyList<string> Freeze(nn.Module model, IEnumerable<string> prefixes)
    {
        var list = prefixes.ToArray();
        var frozen = new List<string>();
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (list.Any(p => name.StartsWith(p, StringComparison.Ordinal)))
            {
                parameter.requires_grad = false;
                frozen.Add(name);
            }
        }
        var unused = list.Where(p => !frozen.Any(n => n.StartsWith(p, StringComparison.Ordinal))).ToArray();
        if (unused.Length > 0)
        {
            throw new ArgumentException($"freeze prefix(es) {string.Join(", ", unused.Select(p => $"'{p}'"))} match no parameter of {model.GetName()}");
        }
        return frozen;
    }

    /// <summary>Names of the parameters that still train.</summary>
    public static IReadOnlyList<string> Trainable(nn.Module model) =>
        [.. model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name)];
}
