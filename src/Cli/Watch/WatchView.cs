using System.Globalization;
using MmCluster.Shared.Grpc.Dashboard;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace MmCluster.Cli.Watch;

/// <summary>Renders dashboard snapshots for the terminal (pure: snapshot in, Spectre renderable out).</summary>
internal static class WatchView
{
    private const int BarWidth = 16;

    public static IRenderable Waiting(string message) =>
        new Panel(new Markup($"[yellow]{Markup.Escape(message)}[/]")).Header("mmcluster watch").Expand();

    public static IRenderable Live(RunSnapshot s, string? status = null)
    {
        var parts = new List<IRenderable> { Header(s), Stages(s) };
        if (s.Workers.Count > 0)
        {
            parts.Add(Workers(s));
        }
        if (s.LastEval is { Metrics.Count: > 0 } eval)
        {
            parts.Add(new Markup($"[bold]last eval[/] {Markup.Escape(eval.Stage)} @ step {eval.Step}: {Metrics(eval.Metrics)}"));
        }
        if (s.Error.Length > 0)
        {
            parts.Add(new Markup($"[red bold]error:[/] [red]{Markup.Escape(s.Error)}[/]"));
        }
        if (status is not null)
        {
            parts.Add(new Markup($"[yellow]{Markup.Escape(status)}[/]"));
        }
        return new Rows(parts);
    }

    /// <summary>What stays on screen when the run ended: per stage steps, final loss and evaluation; the ledger; wall time.</summary>
    public static IRenderable Summary(RunSnapshot s)
    {
        var table = new Table().Title($"{Markup.Escape(s.RunName)}: {State(s.State)} in {s.WallS:0.0} s").AddColumns("stage", "state", "steps", "samples", "final loss", "eval");
        foreach (var stage in s.Stages)
        {
            table.AddRow(
                Markup.Escape(stage.Name), State(stage.State), stage.Step.ToString(CultureInfo.InvariantCulture),
                stage.SamplesSeen.ToString(CultureInfo.InvariantCulture),
                stage.Losses.TryGetValue("loss", out var loss) ? Number(loss) : "-", Metrics(stage.Eval));
        }
        var duplicates = s.Ledger.Sum(l => l.Duplicates);
        var missing = s.Ledger.Sum(l => l.Missing);
        var ledger = new Markup($"ledger: {s.Ledger.Count} epoch(s), {s.Ledger.Sum(l => l.SamplesCommitted)} of {s.Ledger.Sum(l => l.SamplesExpected)} samples committed, "
            + $"{Count(s.Ledger.Sum(l => l.Skipped), "skipped")}, {Count(duplicates, "duplicates")}, {Count(missing, "missing")}");
        return s.Error.Length > 0
            ? new Rows(table, ledger, new Markup($"[red bold]error:[/] [red]{Markup.Escape(s.Error)}[/]"))
            : new Rows(table, ledger);
    }

    private static IRenderable Header(RunSnapshot s)
    {
        var grid = new Grid().AddColumns(6);
        grid.AddRow(
            $"[bold]{Markup.Escape(s.RunName)}[/] {State(s.State)}",
            $"stage [bold]{Markup.Escape(s.Stage.Length > 0 ? s.Stage : "-")}[/]",
            $"epoch {s.Epoch}",
            $"loss {Number(s.Loss)}",
            $"lr {s.Lr.ToString("0.###e+0", CultureInfo.InvariantCulture)}",
            $"{s.SamplesPerS:0} samples/s");
        var last = s.Recoveries.LastOrDefault();
        grid.AddRow(
            $"workers {s.Workers.Count}/{s.WorldSize}",
            $"collectives {s.CollectiveFraction:P0}",
            $"wall {TimeSpan.FromSeconds(s.WallS):hh\\:mm\\:ss}",
            $"generation {s.Generation}",
            s.Recoveries.Count == 0 ? "no recoveries" : $"[yellow]{s.Recoveries.Count} recover{(s.Recoveries.Count == 1 ? "y" : "ies")}[/]",
            last is null ? "" : Markup.Escape($"last at step {last.Step}: {Shorten(last.Cause, 60)}"));
        return grid;
    }

    private static Table Stages(RunSnapshot s)
    {
        var table = new Table().Border(TableBorder.Simple).AddColumns("stage", "kind", "state", "progress", "step", "losses", "eval");
        foreach (var stage in s.Stages)
        {
            var total = stage.TotalSteps > 0 ? stage.TotalSteps.ToString(CultureInfo.InvariantCulture) : "?";
            table.AddRow(
                Markup.Escape(stage.Name), Markup.Escape(stage.Kind), State(stage.State), Bar(stage),
                $"{stage.Step}/{total}", Metrics(stage.Losses), Metrics(stage.Eval));
        }
        return table;
    }

    private static Table Workers(RunSnapshot s)
    {
        var table = new Table().Border(TableBorder.Simple)
            .AddColumns("#", "worker", "address", "device", "state", "step", "ms/step", "coll ms", "smp/s", "rss/peak", "beat");
        foreach (var w in s.Workers.OrderBy(w => w.Rank))
        {
            var age = w.LastHeartbeat is null || s.UpdatedAt is null
                ? "-"
                : $"{(s.UpdatedAt.ToDateTimeOffset() - w.LastHeartbeat.ToDateTimeOffset()).TotalSeconds:0.0}s";
            table.AddRow(
                w.Rank.ToString(CultureInfo.InvariantCulture), Markup.Escape(w.WorkerId), Markup.Escape(w.Address),
                w.Device.Length > 0 ? Markup.Escape(w.Device) : "-", State(w.State), w.Step.ToString(CultureInfo.InvariantCulture),
                $"{w.StepTimeMs:0.0}", $"{w.CollectiveTimeMs:0.0}", $"{w.SamplesPerS:0}", Memory(w), age);
        }
        return table;
    }

    /// <summary>Resident set size now / peak, in MiB ("-" for a value the worker did not report).</summary>
    internal static string Memory(WorkerProgress w)
    {
        static string MiB(bool has, long bytes) => has ? (bytes / (1024.0 * 1024)).ToString("0", CultureInfo.InvariantCulture) : "-";
        return w.HasResidentBytes || w.HasPeakResidentBytes
            ? $"{MiB(w.HasResidentBytes, w.ResidentBytes)}/{MiB(w.HasPeakResidentBytes, w.PeakResidentBytes)} MiB"
            : "-";
    }

    private static string Bar(StageProgress stage)
    {
        var fraction = stage.State == StageState.Done ? 1.0 : stage.TotalSteps > 0 ? Math.Clamp((double)stage.Step / stage.TotalSteps, 0, 1) : 0;
        var filled = (int)Math.Round(fraction * BarWidth);
        var colour = stage.State == StageState.Failed ? "red" : "green";
        return $"[{colour}]{new string('━', filled)}[/][grey]{new string('━', BarWidth - filled)}[/]{fraction * 100,4:0}%";
    }

    private static string State<T>(T state)
        where T : struct, Enum
    {
        var name = state.ToString().ToLowerInvariant();
        var colour = name switch
        {
            "succeeded" or "done" => "green",
            "failed" or "unreachable" or "left" => "red",
            "running" or "training" => "blue",
            "cancelled" => "yellow",
            _ => "grey",
        };
        return $"[{colour}]{name}[/]";
    }

    private static string Metrics(IDictionary<string, double> metrics) =>
        metrics.Count == 0 ? "-" : Markup.Escape(string.Join(" ", metrics.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => $"{m.Key}={Number(m.Value)}")));

    private static string Shorten(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    private static string Number(double value) =>
        double.IsNaN(value) ? "-" : value.ToString("0.####", CultureInfo.InvariantCulture);

    private static string Count(long value, string what) => value == 0 ? $"[green]0 {what}[/]" : $"[red]{value} {what}[/]";
}
