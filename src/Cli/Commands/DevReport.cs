using System.Globalization;
using MmCluster.Cli.Hosting;
using MmCluster.Shared.Manifest;
using MmCluster.Shared.Runs;

namespace MmCluster.Cli.Commands;

/// <summary>What <c>mmcluster dev</c> prints of the run: a progress line now and then, and the end of the run from summary.json.</summary>
internal static class DevReport
{
    public static string ProgressLine(Shared.Grpc.Dashboard.RunSnapshot s)
    {
        var stage = s.Stages.FirstOrDefault(x => x.Name == s.Stage);
        var total = stage?.TotalSteps ?? 0;
        var eval = s.LastEval is { } e && e.Metrics.Count > 0
            ? " | eval " + string.Join(" ", e.Metrics.Where(kv => Headline(kv.Key)).Select(kv => $"{kv.Key}={kv.Value:0.###}"))
            : "";
        var recoveries = s.Recoveries.Count == 0 ? "" : $" | generation {s.Generation}, {s.Recoveries.Count} recover{(s.Recoveries.Count == 1 ? "y" : "ies")}";
        return string.Create(CultureInfo.InvariantCulture,
            $"[progress] {s.State} {s.Stage} step {s.Step}/{total} epoch {s.Epoch} loss {s.Loss:0.####} lr {s.Lr:0.#####} {s.SamplesPerS:0} samples/s collectives {s.CollectiveFraction:P0} wall {s.WallS:0}s workers {s.Workers.Count(w => w.Rank >= 0)}{recoveries}{eval}");
    }

    /// <summary>
    /// Whether the progress line shows an evaluation metric: not the image counts, nor a breakdown (a dotted name such as
    /// stage 1's <c>itm_wrong.IMAGE|CAPTION</c>, up to 100 of them), which metrics.jsonl and summary.json keep.
    /// </summary>
    internal static bool Headline(string metric) =>
        !metric.EndsWith("images", StringComparison.Ordinal) && !metric.Contains('.', StringComparison.Ordinal);

    public static int Report(string directory, ChildProcess coordinator)
    {
        var summaryPath = Path.Combine(directory, "summary.json");
        if (!File.Exists(summaryPath))
        {
            Console.Error.WriteLine($"mmcluster dev: the coordinator exited with {coordinator.ExitCode} and wrote no summary:");
            foreach (var line in coordinator.Tail.Where(l => !ChildOutput.IsStackFrame(l)))
            {
                Console.Error.WriteLine($"  {line}");
            }
            return coordinator.ExitCode == 0 ? 1 : coordinator.ExitCode;
        }
        var summary = RunSummary.Read(summaryPath);
        Console.WriteLine($"mmcluster dev: run {summary.Status} in {summary.WallS:0} s; summary {summaryPath}");
        foreach (var stage in summary.Stages)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  stage {stage.Name}: {stage.State}, {stage.Steps} steps, {stage.SamplesSeen} samples, final loss {stage.FinalLoss:0.####}"));
        }
        foreach (var (name, value) in summary.Eval)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  eval {name} = {value:0.####} (stage {summary.EvalStage})"));
        }
        foreach (var r in summary.Recoveries)
        {
            static string Ms(double? ms) => ms is { } v ? $"{v / 1000:0.0} s" : "-";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  recovery {r.Stage} step {r.Step}: {r.Cause}; generation {r.GenerationBefore} -> {r.GenerationAfter}, " +
                $"{r.WorldSizeBefore} -> {r.WorldSizeAfter} workers, {r.LostSteps} step(s) lost; abort {Ms(r.AbortMs)}, re-form {Ms(r.ReformMs)}, " +
                $"state in place {Ms(r.TransferMs)}, first step {Ms(r.FirstStepMs)} after it was noticed"));
        }
        foreach (var epoch in summary.Ledger)
        {
            Console.WriteLine(epoch.Ran
                ? $"  ledger {epoch.Stage} epoch {epoch.Epoch}: expected {epoch.SamplesExpected}, committed {epoch.SamplesCommitted}, " +
                  $"skipped {epoch.Skipped} ({SkipCounts.Describe(epoch.SkippedByReason)}), duplicates {epoch.Duplicates}, missing {epoch.Missing}"
                : $"  ledger {epoch.Stage} epoch {epoch.Epoch}: not run (read ahead into at most; {epoch.SamplesExpected} rows planned)");
            foreach (var file in epoch.SkippedByFile)
            {
                Console.WriteLine($"    {file.File}: skipped {SkipCounts.Describe(file.SkippedByReason)} of {file.SamplesExpected} rows");
            }
        }
        if (summary.Error is { } error)
        {
            Console.Error.WriteLine($"mmcluster dev: {error}");
        }
        return coordinator.ExitCode;
    }
}
