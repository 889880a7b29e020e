using static TorchSharp.torch;

namespace MmCluster.Worker.Training;

/// <summary>
/// Freezes the parameters under state-dict key prefixes (<see cref="Shared.Runs.StageConfig.Freeze"/>): they get no
/// gradient, so <see cref="StageOptimizer"/> leaves them out of the optimizer and the gradient averager never all-reduces
/// them. Call before building the <see cref="StageOptimizer"/>.
/// </summary>
public static class FrozenParameters
{
    /// <returns>The number of parameters frozen.</returns>
    public static int Apply(nn.Module model, IReadOnlyList<string> prefixes)
    {
        var parameters = model.named_parameters().ToList();
        var frozen = 0;
        foreach (var prefix in prefixes)
        {
            var matches = parameters.Where(p => p.name == prefix || p.name.StartsWith(prefix + ".", StringComparison.Ordinal)).ToList();
            if (matches.Count == 0)
            {
                var roots = parameters.Select(p => p.name.Split('.')[0]).Distinct().Order(StringComparer.Ordinal);
                throw new ArgumentException($"freeze: '{prefix}' names no parameter of the model (its modules: {string.Join(", ", roots)})");
            }
            foreach (var (_, parameter) in matches)
            {
                if (parameter.requires_grad)
                {
                    parameter.requires_grad = false;
                    frozen++;
                }
            }
        }
        return frozen;
    }
}
