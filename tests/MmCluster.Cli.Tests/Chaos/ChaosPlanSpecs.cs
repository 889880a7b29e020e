using MmCluster.Cli.Chaos;
using Xunit;

namespace MmCluster.Cli.Tests.Chaos;

public sealed class ChaosPlanSpecs
{
    [Fact]
    public void Should_read_every_action_in_order_when_the_plan_lists_kills_and_stops()
    {
        var plan = ChaosPlan.Parse("kill worker-1 at step 120; stop worker-0 for 30s at step 200; kill coordinator at step 300");

        Assert.Null(plan.Random);
        Assert.Equal(
        [
            new ChaosAction { Kind = ChaosKind.Kill, Target = "worker-1", AtStep = 120 },
            new ChaosAction { Kind = ChaosKind.Stop, Target = "worker-0", StopFor = TimeSpan.FromSeconds(30), AtStep = 200 },
            new ChaosAction { Kind = ChaosKind.Kill, Target = "coordinator", AtStep = 300 },
        ], plan.Actions);
    }

    [Fact]
    public void Should_read_time_triggers_stages_and_units_when_the_clauses_use_them()
    {
        var plan = ChaosPlan.Parse(" KILL Worker-2 after 1.5m ;stop coordinator for 250ms after 10s; kill worker-0 at step 5 in stage stage1;");

        Assert.Equal(
        [
            new ChaosAction { Kind = ChaosKind.Kill, Target = "worker-2", After = TimeSpan.FromSeconds(90) },
            new ChaosAction { Kind = ChaosKind.Stop, Target = "coordinator", StopFor = TimeSpan.FromMilliseconds(250), After = TimeSpan.FromSeconds(10) },
            new ChaosAction { Kind = ChaosKind.Kill, Target = "worker-0", AtStep = 5, InStage = "stage1" },
        ], plan.Actions);
        Assert.Equal(["kill worker-2 after 90s", "stop coordinator for 250ms after 10s", "kill worker-0 at step 5 in stage stage1"],
            plan.Actions.Select(a => a.Describe()));
    }

    [Fact]
    public void Should_read_how_long_a_killed_target_stays_away_when_a_kill_has_a_duration()
    {
        var plan = ChaosPlan.Parse("kill worker-2 for 60s at step 100");

        var kill = Assert.Single(plan.Actions);
        Assert.Equal(new ChaosAction { Kind = ChaosKind.Kill, Target = "worker-2", StopFor = TimeSpan.FromSeconds(60), AtStep = 100 }, kill);
        Assert.Equal("kill worker-2 for 60s at step 100", kill.Describe());
    }

    [Fact]
    public void Should_read_the_random_settings_when_the_plan_is_random()
    {
        Assert.Equal(new RandomChaos(TimeSpan.FromSeconds(60), 7, Workers: true, Coordinator: false),
            ChaosPlan.Parse("random:mtbf=60s,seed=7").Random);
        Assert.Equal(new RandomChaos(TimeSpan.FromMinutes(2), 0, Workers: true, Coordinator: true),
            ChaosPlan.Parse("random:mtbf=2m,targets=workers+coordinator").Random);
        var mixed = ChaosPlan.Parse("kill worker-0 at step 3; random:mtbf=30s,seed=1,targets=coordinator");
        Assert.Single(mixed.Actions);
        Assert.Equal(new RandomChaos(TimeSpan.FromSeconds(30), 1, Workers: false, Coordinator: true), mixed.Random);
    }

    [Theory]
    [InlineData("kill worker-1 at step 120; stop worker-0 for 30 at step 200",
        "chaos clause 2 'stop worker-0 for 30 at step 200': expected a duration like 30s, got '30' (word 4)")]
    [InlineData("zap worker-1 at step 3", "chaos clause 1 'zap worker-1 at step 3': expected kill TARGET ..., stop TARGET for Ds ... or random:mtbf=60s,seed=7, got 'zap' (word 1)")]
    [InlineData("kill w1 at step 3", "chaos clause 1 'kill w1 at step 3': expected a target like worker-1 or coordinator, got 'w1' (word 2)")]
    [InlineData("kill worker-1 when step 3", "chaos clause 1 'kill worker-1 when step 3': expected a trigger: 'at step N' or 'after 30s', got 'when' (word 3)")]
    [InlineData("kill worker-1 at step three", "chaos clause 1 'kill worker-1 at step three': expected a step number like 120, got 'three' (word 5)")]
    [InlineData("kill worker-1 at step 3 please", "chaos clause 1 'kill worker-1 at step 3 please': expected the end of the clause or 'in stage NAME', got 'please' (word 6)")]
    [InlineData("kill worker-1 after 5s now", "chaos clause 1 'kill worker-1 after 5s now': expected the end of the clause, got 'now' (word 5)")]
    [InlineData("stop worker-1 at step 3", "chaos clause 1 'stop worker-1 at step 3': expected 'for' and a duration (stop TARGET for 30s ...), got 'at' (word 3)")]
    [InlineData("kill worker-1", "chaos clause 1 'kill worker-1': expected a trigger: 'at step N' or 'after 30s' at the end (word 3)")]
    [InlineData("random:seed=7", "chaos clause 1 'random:seed=7': random: needs mtbf, e.g. random:mtbf=60s,seed=7")]
    [InlineData("random:mtbf=0s", "chaos clause 1 'random:mtbf=0s': expected mtbf=DURATION, a positive duration like 60s, got 'mtbf=0s'")]
    [InlineData("random:mtbf=60s,targets=everyone", "chaos clause 1 'random:mtbf=60s,targets=everyone': expected targets=workers, targets=coordinator or targets=workers+coordinator, got 'targets=everyone'")]
    [InlineData("random:mtbf=60s,rate=2", "chaos clause 1 'random:mtbf=60s,rate=2': expected mtbf=, seed= or targets=, got 'rate=2'")]
    [InlineData("random:mtbf=1s; random:mtbf=2s", "chaos clause 2 'random:mtbf=2s': only one random: clause is allowed")]
    public void Should_name_the_clause_and_the_word_when_a_clause_is_wrong(string text, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => ChaosPlan.Parse(text));

        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Should_refuse_the_plan_when_it_has_no_clause()
    {
        Assert.Contains("has no clause", Assert.Throws<ArgumentException>(() => ChaosPlan.Parse(" ; ")).Message);
    }

    [Fact]
    public void Should_name_the_missing_worker_when_a_target_is_outside_the_cluster()
    {
        var plan = ChaosPlan.Parse("kill worker-1 at step 3; kill worker-2 after 5s");

        plan.CheckTargets(3);
        var error = Assert.Throws<ArgumentException>(() => plan.CheckTargets(2));

        Assert.Equal("chaos 'kill worker-2 after 5s': there is no worker-2 in a cluster of 2 workers (worker-0 to worker-1)", error.Message);
    }
}
