using Google.Protobuf.Collections;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;
using MmCluster.Shared.Runs;
using MmCluster.Shared.Spec;
using Proto = MmCluster.Shared.Grpc.Dashboard;

namespace MmCluster.Coordinator.Services;

/// <summary>Maps the coordinator's run records to the dashboard's protobuf messages (one direction only).</summary>
internal static class DashboardMapping
{
    public static Proto.RunSnapshot ToProto(this RunSnapshot s)
    {
        var proto = new Proto.RunSnapshot
        {
            RunId = s.RunId,
            RunName = s.RunName,
            State = Same<Proto.RunState>(s.State),
            Sequence = (ulong)s.Sequence,
            Stage = s.Stage ?? "",
            Epoch = s.Epoch,
            Step = s.Step,
            SamplesPerS = s.SamplesPerSecond,
            Loss = s.Loss,
            Lr = s.Lr,
            WorldSize = s.WorldSize,
            CollectiveFraction = s.CollectiveFraction,
            LastEval = s.LastEval?.ToProto(),
            WallS = s.WallSeconds,
            StartedAt = Timestamp.FromDateTimeOffset(s.StartedAt),
            UpdatedAt = Timestamp.FromDateTimeOffset(s.UpdatedAt),
            Error = s.Error ?? "",
            Generation = s.Generation,
        };
        proto.Recoveries.AddRange(s.Recoveries.Select(r => new Proto.Recovery
        {
            Stage = r.Stage,
            Step = r.Step,
            Cause = r.Cause,
            GenerationBefore = r.GenerationBefore,
            GenerationAfter = r.GenerationAfter,
            WorldSizeBefore = r.WorldSizeBefore,
            WorldSizeAfter = r.WorldSizeAfter,
            LostSteps = r.LostSteps,
            NoticedAt = Timestamp.FromDateTimeOffset(r.NoticedAt),
            AbortMs = r.AbortMs ?? 0,
            ReformMs = r.ReformMs ?? 0,
            TransferMs = r.TransferMs ?? 0,
            FirstStepMs = r.FirstStepMs ?? 0,
            Grow = r.Grow,
        }));
        proto.Stages.AddRange(s.Stages.Select(ToProto));
        proto.Workers.AddRange(s.Workers.Select(ToProto));
        proto.Ledger.AddRange(s.Ledger.Select(ToProto));
        return proto;
    }

    private static Proto.LedgerCounters ToProto(LedgerCounters l)
    {
        var proto = new Proto.LedgerCounters
        {
            Stage = l.Stage,
            Epoch = l.Epoch,
            SamplesExpected = l.SamplesExpected,
            SamplesCommitted = l.SamplesCommitted,
            Duplicates = l.Duplicates,
            Missing = l.Missing,
            Ran = l.Ran,
            Skipped = l.Skipped,
        };
        Fill(proto.SkippedByReason, l.SkippedByReason);
        proto.SkippedByFile.AddRange(l.SkippedByFile.Select(f =>
        {
            var file = new Proto.FileSkipCounters { File = f.File, SamplesExpected = f.SamplesExpected, SamplesCommitted = f.SamplesCommitted };
            Fill(file.SkippedByReason, f.SkippedByReason);
            return file;
        }));
        return proto;
    }

    public static Proto.HistoryPoint ToProto(this HistoryPoint p)
    {
        var proto = new Proto.HistoryPoint
        {
            Stage = p.Stage,
            Step = p.Step,
            Epoch = p.Epoch,
            WallS = p.WallSeconds,
            Lr = p.Lr,
            SamplesPerS = p.SamplesPerSecond,
            StepMs = p.StepMs,
            CollectiveMs = p.CollectiveMs,
            Generation = p.Generation,
            WorldSize = p.WorldSize,
        };
        Fill(proto.Losses, p.Losses);
        Fill(proto.Eval, p.Eval ?? new Dictionary<string, double>());
        Fill(proto.Skipped, p.Skipped);
        return proto;
    }

    private static Proto.StageProgress ToProto(StageProgress s)
    {
        var proto = new Proto.StageProgress
        {
            Name = s.Name,
            Kind = s.Kind.ToName(),
            State = Same<Proto.StageState>(s.State),
            Step = s.Step,
            TotalSteps = s.TotalSteps,
            Epoch = s.Epoch,
            SamplesSeen = s.SamplesSeen,
            WallS = s.WallSeconds,
        };
        proto.DependsOn.AddRange(s.DependsOn);
        Fill(proto.Losses, s.Losses);
        Fill(proto.Eval, s.Eval);
        return proto;
    }

    /// <summary>The worker timings recorded with <paramref name="p"/>, one per worker.</summary>
    public static IEnumerable<Proto.WorkerHistoryPoint> WorkerPoints(this HistoryPoint p) =>
        (p.Workers ?? []).Select(w => new Proto.WorkerHistoryPoint
        {
            WorkerId = w.WorkerId,
            Rank = w.Rank,
            Step = w.Step,
            Stage = p.Stage,
            StepTimeMs = w.StepMs,
            ForwardBackwardMs = w.ForwardBackwardMs,
            GradAverageMs = w.GradAverageMs,
            OptimizerMs = w.OptimizerMs,
            CollectiveTimeMs = w.CollectiveMs,
            SamplesPerS = w.SamplesPerSecond,
        });

    private static Proto.WorkerProgress ToProto(WorkerProgress w)
    {
        var proto = new Proto.WorkerProgress
        {
            WorkerId = w.WorkerId,
            Rank = w.Rank,
            Address = w.Address,
            State = Same<Proto.WorkerState>(w.State),
            Step = w.Step,
            StepTimeMs = w.StepTimeMs,
            CollectiveTimeMs = w.CollectiveTimeMs,
            SamplesPerS = w.SamplesPerSecond,
            LastHeartbeat = w.LastHeartbeat is { } at ? Timestamp.FromDateTimeOffset(at) : null,
            ForwardBackwardMs = w.ForwardBackwardMs,
            GradAverageMs = w.GradAverageMs,
            OptimizerMs = w.OptimizerMs,
            Straggler = w.Straggler,
            Host = w.Host,
            LastReportAgeS = w.LastReportAgeSeconds,
            Device = w.Device,
        };
        proto.Lanes.AddRange(w.Lanes);
        if (w.ResidentBytes is { } resident)
        {
            proto.ResidentBytes = resident;
        }
        if (w.PeakResidentBytes is { } peak)
        {
            proto.PeakResidentBytes = peak;
        }
        if (w.ManagedHeapBytes is { } managed)
        {
            proto.ManagedHeapBytes = managed;
        }
        return proto;
    }

    private static Proto.Evaluation ToProto(this EvalResult e)
    {
        var proto = new Proto.Evaluation { Stage = e.Stage, Step = e.Step, At = Timestamp.FromDateTimeOffset(e.At) };
        Fill(proto.Metrics, e.Metrics);
        return proto;
    }

    /// <summary>The protobuf enum value of the same name (the proto's values are the domain's, prefixed).</summary>
    internal static TProto Same<TProto>(Enum value)
        where TProto : struct, Enum => Enum.Parse<TProto>(value.ToString());

    private static void Fill<T>(MapField<string, T> map, IReadOnlyDictionary<string, T> values)
    {
        foreach (var (name, value) in values)
        {
            map[name] = value;
        }
    }
}
