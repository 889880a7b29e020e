using k8s.Models;
using MmCluster.Cli.K8s;
using Xunit;

namespace MmCluster.Cli.Tests.K8s;

/// <summary>How <c>k8s run-local</c> replays the Job controller's answer to a failed pod: podFailurePolicy, then backoffLimit.</summary>
public sealed class LocalJobPolicySpecs
{
    [Fact]
    public void Should_recreate_a_killed_worker_pod_until_the_backoff_limit_and_fail_the_job_after_it()
    {
        var policy = new LocalJobPolicy(Job("w", backoffLimit: 2, ("FailJob", "In", [2, 3])));

        Assert.Null(policy.OnPodFailed(137));   // SIGKILL: recreated
        Assert.Null(policy.OnPodFailed(1));
        var failed = policy.OnPodFailed(137);

        Assert.Equal("Job w failed: 3 pod failures, more than its backoffLimit 2", failed);
        Assert.True(policy.Failed);
        Assert.Equal(3, policy.Failures);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Should_fail_the_job_at_once_when_the_exit_code_matches_a_fail_job_rule(int exitCode)
    {
        var policy = new LocalJobPolicy(Job("w", backoffLimit: 10, ("FailJob", "In", [2, 3])));

        var failed = policy.OnPodFailed(exitCode);

        Assert.Equal($"Job w failed: exit code {exitCode} matches its podFailurePolicy rule FailJob In [2, 3]", failed);
        Assert.Equal(0, policy.Failures);
    }

    [Fact]
    public void Should_fail_the_coordinator_job_on_any_non_zero_exit_by_its_not_in_rule()
    {
        var policy = new LocalJobPolicy(Job("c", backoffLimit: 0, ("FailJob", "NotIn", [0])));

        Assert.Equal("Job c failed: exit code 137 (SIGKILL) matches its podFailurePolicy rule FailJob NotIn [0]", policy.OnPodFailed(137));
    }

    [Fact]
    public void Should_take_the_job_apis_default_backoff_limit_of_six_when_none_is_given()
    {
        var policy = new LocalJobPolicy(Job("w", backoffLimit: null));

        Assert.Equal(6, policy.BackoffLimit);
        Assert.All(Enumerable.Range(0, 6), _ => Assert.Null(policy.OnPodFailed(1)));
        Assert.NotNull(policy.OnPodFailed(1));
    }

    [Fact]
    public void Should_refuse_an_operator_the_job_api_does_not_have()
    {
        var error = Assert.Throws<ArgumentException>(() => new LocalJobPolicy(Job("w", 1, ("FailJob", "Between", [1]))));

        Assert.Contains("Job w: podFailurePolicy operator 'Between'", error.Message);
    }

    private static V1Job Job(string name, int? backoffLimit, params (string Action, string Operator, int[] Codes)[] rules) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1JobSpec
        {
            BackoffLimit = backoffLimit,
            Template = new V1PodTemplateSpec(),
            PodFailurePolicy = rules.Length == 0 ? null : new V1PodFailurePolicy
            {
                Rules = rules.Select(r => new V1PodFailurePolicyRule
                {
                    Action = r.Action,
                    OnExitCodes = new V1PodFailurePolicyOnExitCodesRequirement { OperatorProperty = r.Operator, Values = r.Codes },
                }).ToList(),
            },
        },
    };
}
