using MmCluster.Cli.Chaos;
using MmCluster.Shared.Grpc.Dashboard;
using Xunit;

namespace MmCluster.Cli.Tests.Chaos;

public sealed class ChaosSchedulerSpecs
{
    private static readonly TimeSpan Early = TimeSpan.FromSeconds(1);

    private static RunSnapshot Running(string stage, long step) => new() { State = RunState.Running, Stage = stage, Step = step };

    [Fact]
    public void Should_fire_a_step_action_once_when_the_running_stage_first_reaches_its_step()
    {
        var scheduler = new ChaosScheduler(ChaosPlan.Parse("kill worker-1 at step 120; stop worker-0 for 30s at step 200"), workers: 2);

        Assert.Empty(scheduler.Due(Early, null));
        Assert.Empty(scheduler.Due(Early, Running("clip", 119)));
        Assert.Equal(["kill worker-1 at step 120"], scheduler.Due(Early, Running("clip", 125)).Select(a => a.Describe()));
        Assert.Empty(scheduler.Due(Early, Running("clip", 130)));
        Assert.Equal(["stop worker-0 for 30s at step 200"], scheduler.Due(Early, Running("clip", 400)).Select(a => a.Describe()));
        Assert.Empty(scheduler.Due(Early, Running("clip", 500)));
    }

    [Fact]
    public void Should_wait_for_the_named_stage_when_a_step_action_names_one()
    {
        var scheduler = new ChaosScheduler(ChaosPlan.Parse("kill worker-0 at step 3 in stage two; kill worker-1 at step 3"), workers: 2);

        Assert.Equal(["worker-1"], scheduler.Due(Early, Running("one", 10)).Select(a => a.Target));
        Assert.Empty(scheduler.Due(Early, Running("two", 2)));
        Assert.Equal(["worker-0"], scheduler.Due(Early, Running("two", 3)).Select(a => a.Target));
    }

    [Fact]
    public void Should_not_fire_a_step_action_when_the_run_is_not_running()
    {
        var scheduler = new ChaosScheduler(ChaosPlan.Parse("kill worker-0 at step 3"), workers: 1);

        Assert.Empty(scheduler.Due(Early, new RunSnapshot { State = RunState.Pending, Stage = "clip", Step = 9 }));
        Assert.Empty(scheduler.Due(Early, new RunSnapshot { State = RunState.Failed, Stage = "clip", Step = 9 }));
    }

    [Fact]
    public void Should_fire_time_actions_when_their_time_has_come_and_the_run_is_not_over()
    {
        var scheduler = new ChaosScheduler(ChaosPlan.Parse("kill worker-0 after 10s; kill coordinator after 20s"), workers: 1);

        Assert.Empty(scheduler.Due(TimeSpan.FromSeconds(9.9), null));
        Assert.Equal(["worker-0"], scheduler.Due(TimeSpan.FromSeconds(10), new RunSnapshot { State = RunState.Pending }).Select(a => a.Target));
        Assert.Empty(scheduler.Due(TimeSpan.FromSeconds(30), new RunSnapshot { State = RunState.Succeeded }));
        Assert.Equal(["coordinator"], scheduler.Due(TimeSpan.FromSeconds(30), Running("clip", 1)).Select(a => a.Target));
    }

    [Fact]
    public void Should_fire_the_random_kills_in_order_when_their_times_pass()
    {
        var plan = ChaosPlan.Parse("random:mtbf=5s,seed=7");
        var expected = plan.Random!.Actions(2).TakeWhile(a => a.After <= TimeSpan.FromSeconds(60)).ToList();
        var scheduler = new ChaosScheduler(plan, workers: 2);

        var fired = new List<ChaosAction>();
        for (var t = 0.0; t <= 60; t += 0.25)
        {
            var due = scheduler.Due(TimeSpan.FromSeconds(t), Running("clip", 1));
            Assert.All(due, a => Assert.True(a.After <= TimeSpan.FromSeconds(t)));
            fired.AddRange(due);
        }

        Assert.True(expected.Count > 5);
        Assert.Equal(expected, fired);
    }
}
