using Akka.Actor;
using Akka.Hosting;
using Akka.Remote.Serialization;
using MmCluster.Coordinator.Actors;
using MmCluster.Coordinator.Hosting;
using MmCluster.Coordinator.Tests.Ledger;
using MmCluster.Shared.Grpc.Journal;
using MmCluster.Shared.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace MmCluster.Coordinator.Tests.Journal;

public sealed class RunJournalHostingSpecs : IDisposable
{
    private readonly JournalDatabase database = new();

    [Fact]
    public async Task Should_store_journal_events_as_protobuf_when_the_system_has_no_remoting()
    {
        var (host, system) = await database.StartAsync();

        var serializer = system.Serialization.FindSerializerFor(new StepCommitted());
        var record = system.Serialization.FindSerializerFor(new RunRecord());

        await JournalDatabase.StopAsync(host);
        Assert.IsType<ProtobufSerializer>(serializer);
        Assert.IsType<ProtobufSerializer>(record);
    }

    [Fact]
    public async Task Should_start_the_run_journal_in_the_registry_when_the_coordinator_has_a_database()
    {
        var options = new CoordinatorOptions
        {
            Akka = new AkkaSettings { Port = 0 },
            Run = new RunSettings("journaled", 1, "{}"u8.ToArray()),
            PlanEpoch = TestPlans.Uniform(4, 5),
            JournalDatabase = database.Path,
        };
        using var host = ClusterProcessHost.Build(services => services.AddMmCoordinator(options));
        await host.StartAsync();
        try
        {
            var registry = host.Services.GetRequiredService<ActorRegistry>();
            var journal = await registry.GetAsync<RunJournalActor>();
            var written = await journal.Ask<RunEventRecorded>(new StageStarted { StageIndex = 0, StageName = "clip", Generation = 1 }, JournalDatabase.Durable);
            var record = await journal.Ask<RunRecord>(GetRunRecord.Instance, JournalDatabase.Durable);

            Assert.Equal(1, written.SequenceNr);
            Assert.Equal(("journaled", 0), (record.RunId, record.StageIndex));
        }
        finally
        {
            await host.StopAsync();
        }
        Assert.Equal("journaled", (await RunJournalReader.ReadAsync(database.Path))?.RunId);
    }

    public void Dispose() => database.Dispose();
}
