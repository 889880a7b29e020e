using System.Globalization;
using System.Text.RegularExpressions;

namespace MmCluster.Cli.Chaos;

/// <summary>
/// The grammar of <c>--chaos</c>, one clause between semicolons:
/// <code>
/// kill TARGET [for DURATION] TRIGGER
/// stop TARGET for DURATION TRIGGER
/// random:mtbf=DURATION[,seed=N][,targets=workers|coordinator|workers+coordinator]
/// TARGET  = worker-N | coordinator
/// TRIGGER = at step N [in stage NAME] | after DURATION
/// DURATION = a number and a unit: 250ms, 30s, 1.5m, 1h
/// </code>
/// </summary>
internal static partial class ChaosPlanParser
{
    private const string Expected = "expected kill TARGET ..., stop TARGET for Ds ... or random:mtbf=60s,seed=7";

    public static ChaosPlan Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var actions = new List<ChaosAction>();
        RandomChaos? random = null;
        var clauses = text.Split(';');
        for (var i = 0; i < clauses.Length; i++)
        {
            var clause = clauses[i].Trim();
            if (clause.Length == 0)
            {
                continue;
            }
            var reader = new Clause(i + 1, clause);
            if (clause.StartsWith("random:", StringComparison.OrdinalIgnoreCase))
            {
                if (random is not null)
                {
                    throw reader.Error("only one random: clause is allowed");
                }
                random = ParseRandom(reader, clause["random:".Length..]);
            }
            else
            {
                actions.Add(ParseAction(reader));
            }
        }
        if (actions.Count == 0 && random is null)
        {
            throw new ArgumentException($"chaos plan '{text}' has no clause; {Expected}");
        }
        return new ChaosPlan(actions, random);
    }

    private static ChaosAction ParseAction(Clause c)
    {
        var verb = c.Next("kill or stop");
        var kind = verb.ToLowerInvariant() switch
        {
            "kill" => ChaosKind.Kill,
            "stop" => ChaosKind.Stop,
            _ => throw c.Unexpected(Expected, verb),
        };
        var target = c.Next("a target like worker-1 or coordinator");
        if (!TargetPattern().IsMatch(target))
        {
            throw c.Unexpected("expected a target like worker-1 or coordinator", target);
        }
        target = target.ToLowerInvariant();
        TimeSpan? stopFor = null;
        if (kind == ChaosKind.Stop)
        {
            c.Expect("for", "'for' and a duration (stop TARGET for 30s ...)");
            stopFor = c.NextDuration();
        }
        var trigger = c.Next("a trigger: 'at step N' or 'after 30s'");
        if (kind == ChaosKind.Kill && trigger.Equals("for", StringComparison.OrdinalIgnoreCase))
        {
            stopFor = c.NextDuration();   // kill TARGET for 60s ...: restarted only after 60 s
            trigger = c.Next("a trigger: 'at step N' or 'after 30s'");
        }
        var action = new ChaosAction { Kind = kind, Target = target, StopFor = stopFor };
        switch (trigger.ToLowerInvariant())
        {
            case "at":
                c.Expect("step", "'step' (at step N)");
                var stepWord = c.Next("a step number");
                if (!long.TryParse(stepWord, NumberStyles.None, CultureInfo.InvariantCulture, out var step))
                {
                    throw c.Unexpected("expected a step number like 120", stepWord);
                }
                action = action with { AtStep = step };
                if (c.TryNext(out var word))
                {
                    if (!word.Equals("in", StringComparison.OrdinalIgnoreCase))
                    {
                        throw c.Unexpected("expected the end of the clause or 'in stage NAME'", word);
                    }
                    c.Expect("stage", "'stage' (in stage NAME)");
                    action = action with { InStage = c.Next("a stage name") };
                }
                break;
            case "after":
                action = action with { After = c.NextDuration() };
                break;
            default:
                throw c.Unexpected("expected a trigger: 'at step N' or 'after 30s'", trigger);
        }
        if (c.TryNext(out var extra))
        {
            throw c.Unexpected("expected the end of the clause", extra);
        }
        return action;
    }

    private static RandomChaos ParseRandom(Clause c, string settings)
    {
        TimeSpan? mtbf = null;
        var seed = 0;
        bool workers = true, coordinator = false;
        foreach (var pair in settings.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = pair.Split('=', 2, StringSplitOptions.TrimEntries);
            var value = parts.Length == 2 ? parts[1] : "";
            switch (parts[0].ToLowerInvariant())
            {
                case "mtbf":
                    mtbf = ParseDuration(value) is { } d && d > TimeSpan.Zero ? d : throw c.Error($"expected mtbf=DURATION, a positive duration like 60s, got '{pair}'");
                    break;
                case "seed":
                    seed = int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var s) ? s : throw c.Error($"expected seed=N, a whole number, got '{pair}'");
                    break;
                case "targets":
                    var names = value.ToLowerInvariant().Split('+');
                    if (names.Length == 0 || names.Any(n => n is not ("workers" or "coordinator")))
                    {
                        throw c.Error($"expected targets=workers, targets=coordinator or targets=workers+coordinator, got '{pair}'");
                    }
                    workers = names.Contains("workers");
                    coordinator = names.Contains("coordinator");
                    break;
                default:
                    throw c.Error($"expected mtbf=, seed= or targets=, got '{pair}'");
            }
        }
        return new RandomChaos(mtbf ?? throw c.Error("random: needs mtbf, e.g. random:mtbf=60s,seed=7"), seed, workers, coordinator);
    }

    /// <summary>A number and a unit (ms, s, m, h), or null.</summary>
    internal static TimeSpan? ParseDuration(string text)
    {
        var match = DurationPattern().Match(text);
        if (!match.Success)
        {
            return null;
        }
        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value.ToLowerInvariant() switch
        {
            "ms" => TimeSpan.FromMilliseconds(value),
            "s" => TimeSpan.FromSeconds(value),
            "m" => TimeSpan.FromMinutes(value),
            _ => TimeSpan.FromHours(value),
        };
    }

    [GeneratedRegex(@"^(?:worker-\d+|coordinator)$", RegexOptions.IgnoreCase)]
    private static partial Regex TargetPattern();

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)(ms|s|m|h)$", RegexOptions.IgnoreCase)]
    private static partial Regex DurationPattern();

    /// <summary>The words of one clause, read left to right; errors name the clause, its number and the word.</summary>
    private sealed class Clause(int number, string text)
    {
        private readonly string[] words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        private int next;

        public string Next(string what) =>
            next < words.Length ? words[next++] : throw Error($"expected {what} at the end (word {next + 1})");

        public bool TryNext(out string word)
        {
            word = next < words.Length ? words[next++] : "";
            return word.Length > 0;
        }

        public void Expect(string keyword, string what)
        {
            var word = Next(what);
            if (!word.Equals(keyword, StringComparison.OrdinalIgnoreCase))
            {
                throw Unexpected($"expected {what}", word);
            }
        }

        public TimeSpan NextDuration()
        {
            var word = Next("a duration like 30s");
            return ParseDuration(word) ?? throw Unexpected("expected a duration like 30s", word);
        }

        public ArgumentException Error(string message) => new($"chaos clause {number} '{text}': {message}");

        /// <summary>An error about the word just read: it and its position in the clause (1-based).</summary>
        public ArgumentException Unexpected(string message, string got) => Error($"{message}, got '{got}' (word {next})");
    }
}
