using ParallelFlow.Engine.Plans;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Execution;

/// <summary>
/// The budget of one run: what each task may reserve, what is reserved and spent. Used only under the run's lock.
/// Invariant: spent + reserved never passes a limit through a reservation; only a task that spends more than it
/// reserved can push spending past it, and that is reported.
/// </summary>
internal sealed class BudgetLedger
{
    private readonly BudgetSettings _settings;
    private readonly (long Tokens, decimal Cost)[] _allowance;
    private readonly (long Tokens, decimal Cost)[] _reserved;
    private readonly (long Tokens, decimal Cost)[] _spent;
    private long _reservedTokens;
    private decimal _reservedCost;
    private long _spentTokens;
    private decimal _spentCost;

    public BudgetLedger(BudgetSettings settings, IReadOnlyList<TaskDefinition> tasks, IReadOnlyList<TaskEstimate?> estimates)
    {
        _settings = settings;
        var count = tasks.Count;
        _allowance = new (long, decimal)[count];
        _reserved = new (long, decimal)[count];
        _spent = new (long, decimal)[count];
        var knownTokens = estimates.Where(e => e?.Tokens is not null).Select(e => (double)e!.Tokens!.Value).DefaultIfEmpty(1).Average();
        var knownCost = estimates.Where(e => e?.Cost is not null).Select(e => (double)e!.Cost!.Value).DefaultIfEmpty(1).Average();
        double Tokens(int i) => estimates[i]?.Tokens ?? knownTokens;
        double Cost(int i) => (double?)estimates[i]?.Cost ?? knownCost;
        var sumTokens = Enumerable.Range(0, count).Sum(Tokens);
        var sumCost = Enumerable.Range(0, count).Sum(Cost);
        for (var i = 0; i < count; i++)
        {
            _allowance[i] = settings.Policy switch
            {
                BudgetPolicy.Equal => (Share(settings.Tokens, 1, count), ShareCost(settings.Cost, 1, count)),
                BudgetPolicy.Proportional => (Share(settings.Tokens, Tokens(i), sumTokens), ShareCost(settings.Cost, Cost(i), sumCost)),
                _ => (
                    settings.Tokens is { } t ? Math.Min(estimates[i]?.Tokens ?? long.MaxValue, Share(t, settings.TaskCap)) : 0,
                    settings.Cost is { } c ? Math.Min(estimates[i]?.Cost ?? decimal.MaxValue, ShareCost(c, settings.TaskCap)) : 0m),
            };
        }
    }

    public long? TokenLimit => _settings.Tokens;

    public decimal? CostLimit => _settings.Cost;

    public BudgetSettings Settings => _settings;

    /// <summary>Reserves the task's allowance if it fits what is left; false leaves nothing reserved.</summary>
    public bool TryReserve(int task)
    {
        var (tokens, cost) = _allowance[task];
        if ((_settings.Tokens is { } t && _spentTokens + _reservedTokens + tokens > t)
            || (_settings.Cost is { } c && _spentCost + _reservedCost + cost > c))
        {
            return false;
        }

        _reserved[task] = (tokens, cost);
        _reservedTokens += tokens;
        _reservedCost += cost;
        return true;
    }

    /// <summary>Whether the task could ever reserve its allowance, with nothing else reserved.</summary>
    public bool CanEverReserve(int task) =>
        !((_settings.Tokens is { } t && _spentTokens + _allowance[task].Tokens > t) || (_settings.Cost is { } c && _spentCost + _allowance[task].Cost > c));

    /// <summary>Gives back the reservation and charges what the task used.</summary>
    public void Settle(int task, TaskUsage usage)
    {
        _reservedTokens -= _reserved[task].Tokens;
        _reservedCost -= _reserved[task].Cost;
        _spent[task] = (usage.TotalTokens, usage.Cost);
        _spentTokens += usage.TotalTokens;
        _spentCost += usage.Cost;
    }

    public string Shortfall(int task) =>
        string.Join(" and ", new[]
        {
            _settings.Tokens is { } t ? $"{_allowance[task].Tokens:N0} tokens ({Math.Max(0, t - _spentTokens):N0} left)" : null,
            _settings.Cost is { } c ? $"cost {_allowance[task].Cost:0.####} ({Math.Max(0, c - _spentCost):0.####} left)" : null,
        }.Where(s => s is not null));

    public BudgetReport Report(IReadOnlyList<TaskDefinition> tasks) => new()
    {
        Policy = _settings.Policy,
        TokenLimit = _settings.Tokens,
        CostLimit = _settings.Cost,
        SpentTokens = _spentTokens,
        SpentCost = _spentCost,
        Tasks = tasks.Select((t, i) => new BudgetTaskReport(t.Id, _allowance[i].Tokens, _allowance[i].Cost, _spent[i].Tokens, _spent[i].Cost)).ToList(),
    };

    private static long Share(long? limit, double part, double whole) => limit is { } l && whole > 0 ? (long)Math.Floor(l * part / whole) : 0;

    private static long Share(long limit, double fraction) => (long)Math.Floor(limit * fraction);

    private static decimal ShareCost(decimal? limit, double part, double whole) =>
        limit is { } l && whole > 0 ? decimal.Round(l * (decimal)part / (decimal)whole, 6, MidpointRounding.ToZero) : 0m;

    private static decimal ShareCost(decimal limit, double fraction) => decimal.Round(limit * (decimal)fraction, 6, MidpointRounding.ToZero);
}

/// <summary>What a run's budget allowed and what was used, task by task.</summary>
public sealed record BudgetReport
{
    /// <summary>How the budget was divided.</summary>
    public BudgetPolicy Policy { get; init; }

    /// <summary>The token limit, if any.</summary>
    public long? TokenLimit { get; init; }

    /// <summary>The cost limit, if any.</summary>
    public decimal? CostLimit { get; init; }

    /// <summary>Tokens used in all.</summary>
    public long SpentTokens { get; init; }

    /// <summary>Cost used in all.</summary>
    public decimal SpentCost { get; init; }

    /// <summary>Tokens left, if there is a token limit.</summary>
    public long? RemainingTokens => TokenLimit - SpentTokens;

    /// <summary>Cost left, if there is a cost limit.</summary>
    public decimal? RemainingCost => CostLimit - SpentCost;

    /// <summary>Each task's allowance and spend.</summary>
    public required IReadOnlyList<BudgetTaskReport> Tasks { get; init; }
}

/// <summary>One task's allowance and what it used.</summary>
public sealed record BudgetTaskReport(string TaskId, long AllowedTokens, decimal AllowedCost, long SpentTokens, decimal SpentCost);
