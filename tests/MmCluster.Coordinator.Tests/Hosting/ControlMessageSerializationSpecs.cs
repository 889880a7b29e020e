using Akka.Actor;
using Akka.Hosting;
using Google.Protobuf;
using MmCluster.Shared.Grpc.Control;
using MmCluster.Shared.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace MmCluster.Coordinator.Tests.Hosting;

public sealed class ControlMessageSerializationSpecs
{
    private static readonly IMessage[] Samples =
    [
        new RegisterWorker { WorkerId = "worker-3", CollectiveAddress = "http://10.0.0.3:5100", Device = "cuda:0", Threads = 4 },
        new RegistrationRejected { WorkerId = "worker-3", Reason = "run is Running" },
        new StartGeneration
        {
            RunId = "run-1", Generation = 2, Rank = 1, WorldSize = 2, StageConfig = ByteString.CopyFromUtf8("""{"stage":"clip"}"""),
            StageIndex = 1, Recovery = new GenerationRecovery { Step = 41, SourceRank = 0, Epoch = 1, PreviousGeneration = 1 }, CoordinatorWaitMs = 60_000,
            Peers =
            {
                new Peer { Rank = 0, WorkerId = "worker-0", CollectiveAddress = "http://a:1", AkkaAddress = "akka.tcp://mmcluster@a:2" },
                new Peer { Rank = 1, WorkerId = "worker-1", CollectiveAddress = "http://b:1", AkkaAddress = "akka.tcp://mmcluster@b:2" },
            },
        },
        new RequestShard { WorkerId = "worker-1", Epoch = 3, RequestId = 77 },
        new ShardLeased { RequestId = 77, Epoch = 3, ShardId = 12, File = "part-00007.parquet", FirstRowGroup = 4, RowGroupCount = 2, FirstRow = 40_000, RowCount = 20_000 },
        new NoShardAvailable { RequestId = 78, Epoch = 3, RetryAfterMs = 200 },
        new EpochCompleted { RequestId = 79, Epoch = 3, SamplesExpected = 400_000_000 },
        new ShardCompleted { WorkerId = "worker-1", Epoch = 3, ShardId = 12, RowsConsumed = 19_968, Step = 1234 },
        new ReportProgress
        {
            WorkerId = "worker-1", Rank = 1, Step = 1234, Epoch = 3, Loss = 2.75, SamplesPerSecond = 812.5, StepTimeMs = 315,
            CollectiveTimeMs = 21.5, Lr = 3e-4, GradNorm = 0.7, Samples = 1200, DataWaitMs = 0.4, SkippedRows = 2,
            Losses = { ["itc"] = 1.1, ["itm"] = 0.6 }, Eval = { ["i2t_r1"] = 0.2 },
            Phases = new StepPhases { ForwardBackwardMs = 240, AverageGradientsMs = 20, OptimizerMs = 70 }, LogitScale = 14.2,
            Memory = new WorkerMemory { ResidentBytes = 3L << 30, PeakResidentBytes = 4L << 30, ManagedHeapBytes = 80L << 20 },
        },
        new CommitCheckpoint { WorkerId = "worker-0", Step = 1000, Path = "runs/a/ckpt-1000" },
        new CheckpointCommitted
        {
            Step = 1000, Path = "runs/a/ckpt-1000",
            Ledger = new LedgerSnapshot
            {
                Step = 1000,
                Epochs = { new EpochLedger { Epoch = 0, ShardCount = 2, SamplesExpected = 20, Duplicates = 1, Committed = { new CommittedShard { ShardId = 1, RowsConsumed = 10 } } } },
            },
        },
        new WorkerFinished { WorkerId = "worker-0", Step = 5000 },
        new WorkerFailed { WorkerId = "worker-1", Reason = "init.from 'encoder.safetensors': tensor 'logit_scale' has shape [2], the model expects []" },
        new RunFinished { RunId = "run-1", Generation = 2 },
        new GenerationRecovery { Step = 41, SourceRank = 1, Epoch = 2, PreviousGeneration = 3 },
        new AbortGeneration { RunId = "run-1", Generation = 3, Reason = "worker worker-2 (rank 2, akka.tcp://mmcluster@c:2) became unreachable mid-run" },
        new DrainGeneration { RunId = "run-1", Generation = 3, AfterStep = 41, Reason = "worker worker-3 joined: growing to 4 workers" },
        new GenerationAborted { WorkerId = "worker-0", Generation = 3, CompletedStep = 41, Reason = "collective deadline", LostPeerRank = 2 },
        new StepStarted
        {
            WorkerId = "worker-1", Generation = 4, Step = 42,
            Cursors = { new LeaseCursor { Epoch = 2, ShardId = 7, NextRow = 1_024, Trained = 1_000, SkippedByReason = { ["EmptyCaption"] = 3 } } },
        },
        new LeaseCursor { Epoch = 2, ShardId = 7, NextRow = 64, Trained = 64 },
        new RunFailed { RunId = "run-1", Generation = 2, Reason = "worker worker-1 (rank 1, akka.tcp://mmcluster@b:2) became unreachable mid-run", WorkerId = "worker-1", WorkerAddress = "akka.tcp://mmcluster@b:2" },
    ];

    [Fact]
    public async Task Should_round_trip_every_control_message_when_serialized_by_the_cluster_configuration()
    {
        using var host = ClusterProcessHost.Build(services =>
            services.AddAkka("mmcluster", builder => builder.WithMmCluster(new AkkaSettings { Port = 0 })));
        await host.StartAsync();
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            foreach (var message in Samples)
            {
                var serializer = system.Serialization.FindSerializerFor(message);
                var bytes = serializer.ToBinary(message);
                var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
                var back = system.Serialization.Deserialize(bytes, serializer.Identifier, manifest);

                Assert.Equal("Akka.Remote.Serialization.ProtobufSerializer", serializer.GetType().FullName);
                Assert.Equal(message, back);
                Assert.Equal(message.ToByteArray(), bytes);
            }
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public void Should_have_a_sample_when_a_control_message_is_declared_in_the_proto()
    {
        var declared = ControlReflection.Descriptor.MessageTypes.Select(t => t.ClrType)
            .Where(t => t.Name is not ("Peer" or "CommittedShard" or "EpochLedger" or "LedgerSnapshot" or "StepPhases" or "WorkerMemory"));

        Assert.Equal(declared.OrderBy(t => t.Name), Samples.Select(m => m.GetType()).OrderBy(t => t.Name));
    }
}
