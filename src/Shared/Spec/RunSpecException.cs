namespace MmCluster.Shared.Spec;

/// <summary>A run spec that cannot run; carries every problem found, not just the first.</summary>
public sealed class RunSpecException : Exception
{
    public RunSpecException(IReadOnlyList<SpecProblem> problems)
        : base(Describe(problems))
    {
        Problems = problems;
    }

    public IReadOnlyList<SpecProblem> Problems { get; }

    private static string Describe(IReadOnlyList<SpecProblem> problems)
    {
        var file = problems.Select(p => p.File).FirstOrDefault(f => f is not null) ?? "run spec";
        var noun = problems.Count == 1 ? "problem" : "problems";
        return $"{file}: {problems.Count} {noun}:{Environment.NewLine}"
            + string.Join(Environment.NewLine, problems.Select(p => $"  {p}"));
    }
}
