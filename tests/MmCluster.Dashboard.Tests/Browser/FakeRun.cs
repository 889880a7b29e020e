using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using MmCluster.Shared.Grpc.Dashboard;

namespace MmCluster.Dashboard.Tests.Browser;

/// <summary>
/// A BLIP-2-shaped run for the page specs: three workers (worker-2 the straggler), four stages with blip2-stage1
/// running, a few hundred history points with one recovery at step 150. The JSON is what the API serves: the generated
/// protobuf classes through <see cref="JsonFormatter"/>, plus the fields the server side of issue 14 adds to the proto
/// (worker phases, straggler, host, report age, lanes; leased/pending ledger rows; history's totalPoints, cursor and
/// workerPoints), set on the JSON until those fields are in protos/dashboard.proto.
/// </summary>
internal static class FakeRun
{
    public const string RunName = "fashion-mnist-blip2";
    public const string Stage = "blip2-stage1";
    public const string RecoveryCause = "worker worker-1 (rank 1, 127.0.0.1:41003) became unreachable mid-run";
    public const string StragglerId = "worker-2";
    public const int WorkerCount = 3;
    public const long RecoveryStep = 150;

    private static readonly DateTime Start = new(2026, 12, 6, 20, 0, 0, DateTimeKind.Utc);

    public static RunSnapshot Snapshot(long step)
    {
        var s = new RunSnapshot
        {
            RunId = "run-7f3a",
            RunName = RunName,
            State = RunState.Running,
            Sequence = (ulong)step,
            Stage = Stage,
            Epoch = 1,
            Step = step,
            SamplesPerS = 412.5,
            Loss = Loss(step),
            Lr = 3e-4,
            WorldSize = WorkerCount,
            CollectiveFraction = 0.18,
            WallS = 600 + step,
            StartedAt = Timestamp.FromDateTime(Start),
            UpdatedAt = Timestamp.FromDateTime(Start.AddSeconds(600 + step)),
            Generation = 4,
        };
        s.Stages.Add(NewStage("clip", "clip", StageState.Done, 200, 200));
        s.Stages.Add(NewStage("lm", "lm", StageState.Done, 100, 100));
        s.Stages.Add(NewStage(Stage, "blip2-stage1", StageState.Running, step, 1000, "clip"));
        s.Stages.Add(NewStage("blip2-stage2", "blip2-stage2", StageState.Pending, 0, 500, Stage, "lm"));
        s.Stages[2].Losses.Add(Losses(step));
        for (var rank = 0; rank < WorkerCount; rank++)
        {
            s.Workers.Add(new WorkerProgress
            {
                WorkerId = $"worker-{rank}",
                Rank = rank,
                Address = $"127.0.0.1:{41001 + rank}",
                State = WorkerState.Training,
                Step = step,
                StepTimeMs = rank == 2 ? 310 : 240,
                CollectiveTimeMs = rank == 2 ? 20 : 90,
                SamplesPerS = rank == 2 ? 103 : 137,
                LastHeartbeat = Timestamp.FromDateTime(Start.AddSeconds(599 + step)),
            });
        }
        s.Ledger.Add(new LedgerCounters { Stage = Stage, Epoch = 0, SamplesExpected = 60000, SamplesCommitted = 60000, Ran = true });
        s.Ledger.Add(new LedgerCounters { Stage = Stage, Epoch = 1, SamplesExpected = 60000, SamplesCommitted = 21000, Duplicates = 0, Ran = true });
        s.Recoveries.Add(new Recovery
        {
            Stage = Stage,
            Step = RecoveryStep,
            Cause = RecoveryCause,
            GenerationBefore = 3,
            GenerationAfter = 4,
            WorldSizeBefore = 3,
            WorldSizeAfter = 3,
            LostSteps = 2,
            NoticedAt = Timestamp.FromDateTime(Start.AddSeconds(750)),
            AbortMs = 120,
            ReformMs = 2100,
            TransferMs = 640,
            FirstStepMs = 1900,
        });
        return s;
    }

    /// <summary>The snapshot as /api/snapshot and the stream's "snapshot" event serve it.</summary>
    public static string SnapshotJson(long step)
    {
        var json = JsonNode.Parse(JsonFormatter.Default.Format(Snapshot(step)))!.AsObject();
        foreach (var worker in json["workers"]!.AsArray())
        {
            var rank = (int?)worker!["rank"] ?? 0;
            worker["forwardBackwardMs"] = 130.0;
            worker["gradAverageMs"] = rank == 2 ? 15.0 : 85.0;
            worker["optimizerMs"] = 12.0;
            worker["straggler"] = rank == 2;
            worker["host"] = rank == 2 ? "node-b" : "node-a";
            worker["lastReportAgeS"] = 0.4 + rank;
            worker["lanes"] = new JsonArray("Forward/0: shm", "Backward/0: grpc");
        }
        var current = json["ledger"]!.AsArray()[^1]!;
        current["leased"] = "6000";
        current["pending"] = "33000";
        return json.ToJsonString();
    }

    /// <summary>Training points from <paramref name="from"/> to <paramref name="to"/> with an evaluation every 100 steps.</summary>
    public static string HistoryJson(long from, long to)
    {
        var reply = new GetHistoryReply();
        for (var step = 1L; from == 1 && step <= 200; step++)
        {
            reply.Points.Add(new HistoryPoint { Stage = "clip", Step = step, WallS = step, Lr = 5e-4, SamplesPerS = 500, Losses = { ["loss"] = 4 - step * 0.01 } });
        }
        for (var step = from; step <= to; step++)
        {
            var point = new HistoryPoint { Stage = Stage, Step = step, Epoch = (int)(step / 200), WallS = 600 + step, Lr = Lr(step), SamplesPerS = 380 + (step % 7) * 5 };
            point.Losses.Add(Losses(step));
            reply.Points.Add(point);
            if (step % 100 == 0)
            {
                reply.Points.Add(new HistoryPoint { Stage = Stage, Step = step, WallS = 600 + step, Eval =
                {
                    ["itm_acc"] = 0.5 + step / 2000.0, ["i2t_r1"] = 0.2 + step / 3000.0,
                    // A count and a dotted breakdown (stage 1's wrong ITM decisions per class pair): not plotted.
                    ["itm_pairs"] = 2000, ["itm_wrong.shirt|coat"] = 40 - step / 100,
                },
            });
            }
        }
        var json = JsonNode.Parse(JsonFormatter.Default.Format(reply))!.AsObject();
        json["totalPoints"] = (to + 200).ToString(System.Globalization.CultureInfo.InvariantCulture);
        json["cursor"] = to.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var workerPoints = new JsonArray();
        for (var step = from; step <= to; step++)
        {
            if (step % 5 != 0)
            {
                continue;
            }
            for (var rank = 0; rank < WorkerCount; rank++)
            {
                workerPoints.Add(new JsonObject
                {
                    ["workerId"] = $"worker-{rank}",
                    ["rank"] = rank,
                    ["step"] = step.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["stage"] = Stage,
                    ["stepTimeMs"] = rank == 2 ? 310.0 : 240.0,
                    ["forwardBackwardMs"] = 130.0 + (step % 3),
                    ["gradAverageMs"] = rank == 2 ? 15.0 : 85.0,
                    ["optimizerMs"] = 12.0,
                    ["collectiveTimeMs"] = rank == 2 ? 20.0 : 90.0,
                    ["samplesPerS"] = rank == 2 ? 103.0 : 137.0,
                });
            }
        }
        json["workerPoints"] = workerPoints;
        return json.ToJsonString();
    }

    public static string FilesJson() =>
        """
        {"files":[
          {"path":"checkpoints/blip2-stage1/step-100.safetensors","bytes":"52428800","kind":"checkpoint"},
          {"path":"checkpoints/blip2-stage1/step-100.ledger.pb","bytes":"2048","kind":"checkpoint"},
          {"path":"logs/coordinator.log","bytes":"12345","kind":"log"},
          {"path":"logs/worker-0.log","bytes":"45678","kind":"log"},
          {"path":"metrics.jsonl","bytes":"99000","kind":"metrics"}
        ]}
        """;

    private static StageProgress NewStage(string name, string kind, StageState state, long step, long total, params string[] dependsOn)
    {
        var stage = new StageProgress { Name = name, Kind = kind, State = state, Step = step, TotalSteps = total, Epoch = 0, WallS = step };
        stage.DependsOn.Add(dependsOn);
        return stage;
    }

    /// <summary>The loss terms at <paramref name="step"/> (also <see cref="RealRun"/>'s).</summary>
    public static Dictionary<string, double> Losses(long step) => new()
    {
        ["loss"] = Loss(step),
        ["itc"] = 2.2 * Math.Exp(-step / 400.0),
        ["itm"] = 0.69 * Math.Exp(-step / 800.0),
        ["itg"] = 3.1 * Math.Exp(-step / 500.0),
    };

    private static double Loss(long step) => 2.2 * Math.Exp(-step / 400.0) + 0.69 * Math.Exp(-step / 800.0) + 3.1 * Math.Exp(-step / 500.0);

    private static double Lr(long step) => step < 50 ? 3e-4 * step / 50 : 3e-4 * 0.5 * (1 + Math.Cos(Math.PI * (step - 50) / 950));
}
