// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// The two AutoId views this contract relies on (contracts/interfaces/IAutoId.sol has them all).
interface IDataAutoId {
    function isController(bytes32 id, address account) external view returns (bool);
}

/// The AutoScore view this contract relies on (contracts/interfaces/IAutoScore.sol has them all).
interface IDataAutoScore {
    function meets(bytes32 id, uint256 threshold) external view returns (bool);
}

/// @title DataCompensation
/// @notice A registry of data contributions and a pay-per-use compensation scheme
///         (issue 5, spec domains.md §5.5; predeployed at 0xA070…0003).
///
/// The life of a contribution and a round:
///   1. A contributor acting for an Auto ID (`msg.sender` is a controller of the id) registers a
///      contribution: content hash, license, metadata hash, and an optional minimum Auto Score
///      that a consumer must meet to use it. The registering address is the contribution's payee.
///   2. The contributor may withdraw consent at any time (and restore it); a contribution without
///      consent cannot be listed in a new round. Rounds already funded are not affected: the data
///      was used while consent was in force, so its share is still paid.
///   3. A consumer funds a round in the native token, names a valuer admitted by governance and
///      lists the contributions used (ids strictly increasing, each consenting). If any listed
///      contribution has a score gate, the consumer acts for an Auto ID that meets the highest gate.
///   4. The round's valuer posts one weight per listed contribution (e.g. Data Shapley values
///      scaled to integers, negative values clipped to 0). That finalizes the round: each
///      contribution's payee is credited floor(amount * weight / totalWeight); the remainder
///      (the rounding dust, fewer wei than the number of listed contributions, or the whole
///      amount when every weight is 0) is credited to the round's funder.
///   5. Everyone credited withdraws with `withdraw()` (pull payment, checks-effects-interactions,
///      a reentrancy lock). A round not valued within VALUATION_PERIOD can be refunded to its funder.
///
/// Every step emits an event, so the provenance of a contribution (who registered it, under which
/// license, which rounds used it, with which weight, what it earned) can be rebuilt from logs.
contract DataCompensation {
    // -- constants ----------------------------------------------------------------------------

    /// @notice Most contributions one round may list (bounds the valuation loop's gas).
    uint256 public constant MAX_ROUND_CONTRIBUTIONS = 256;
    /// @notice Time the valuer has to value a round before its funder may take the funds back.
    uint256 public constant VALUATION_PERIOD = 30 days;
    /// @notice Highest Auto Score (the score is min(100, ...)); gates above it could never be met.
    uint8 public constant MAX_SCORE = 100;

    // -- storage ------------------------------------------------------------------------------

    struct Contribution {
        bytes32 contributorId; // the Auto ID the contributor acts for
        bytes32 contentHash; // hash / CID digest of the data
        bytes32 license; // a license identifier, e.g. the SPDX id as a left-aligned string ("CC-BY-4.0")
        bytes32 metadataHash; // hash of the off-chain metadata document
        address payee; // receives the shares (the registering controller; changeable)
        uint64 registeredAt; // block timestamp
        uint8 minConsumerScore; // a consumer must meet this Auto Score to list it (0 = no gate)
        bool consent; // false once the contributor withdrew consent for future use
    }

    enum RoundStatus { None, Funded, Valued, Refunded }

    struct Round {
        address funder;
        address valuer;
        bytes32 consumerId; // the consumer's Auto ID (zero when no listed contribution is gated)
        uint128 amount; // wei funded
        uint64 fundedAt;
        RoundStatus status;
        uint256 totalWeight;
        uint256 dust; // wei credited back to the funder at valuation
    }

    address public immutable autoId;
    address public immutable autoScore;
    address public governance;
    /// @notice A minimum Auto Score the contributor's own Auto ID must meet to register (0 = none).
    uint8 public minContributorScore;

    mapping(address => bool) public isValuer;
    mapping(uint256 => Contribution) private _contributions;
    mapping(bytes32 => uint256) public contributionOfContent; // content hash -> contribution id
    uint256 public contributionCount;
    mapping(uint256 => Round) private _rounds;
    mapping(uint256 => uint256[]) private _roundContributions;
    uint256 public roundCount;
    /// @notice Wei each address can withdraw now.
    mapping(address => uint256) public owed;

    bool private transient _locked;

    // -- events -------------------------------------------------------------------------------

    event ContributionRegistered(uint256 indexed contributionId, bytes32 indexed contributorId,
                                 bytes32 indexed contentHash, bytes32 license, bytes32 metadataHash,
                                 uint8 minConsumerScore, address payee);
    event PayeeChanged(uint256 indexed contributionId, address payee);
    event ConsentWithdrawn(uint256 indexed contributionId, bytes32 indexed contributorId);
    event ConsentRestored(uint256 indexed contributionId, bytes32 indexed contributorId);
    event RoundFunded(uint256 indexed roundId, address indexed funder, address indexed valuer,
                      bytes32 consumerId, uint256 amount, uint256[] contributionIds);
    event ContributionUsed(uint256 indexed roundId, uint256 indexed contributionId);
    event ShareCredited(uint256 indexed roundId, uint256 indexed contributionId, address indexed payee,
                        uint256 weight, uint256 amount);
    event RoundValued(uint256 indexed roundId, address indexed valuer, uint256 totalWeight, uint256 dust);
    event RoundRefunded(uint256 indexed roundId, address indexed funder, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event ValuerSet(address indexed valuer, bool admitted);
    event MinContributorScoreSet(uint8 score);
    event GovernanceTransferred(address indexed previous, address indexed next);

    // -- errors -------------------------------------------------------------------------------

    error NotController(bytes32 id, address account);
    error NotGovernance(address account);
    error ZeroAddress();
    error EmptyContentHash();
    error ContentAlreadyRegistered(bytes32 contentHash, uint256 contributionId);
    error ScoreAboveMaximum(uint256 score, uint256 maximum);
    error ContributorScoreTooLow(bytes32 id, uint256 required);
    error UnknownContribution(uint256 contributionId);
    error ConsentAlreadyWithdrawn(uint256 contributionId);
    error ConsentNotWithdrawn(uint256 contributionId);
    error NoConsent(uint256 contributionId);
    error NotAValuer(address valuer);
    error EmptyRound();
    error TooManyContributions(uint256 given, uint256 maximum);
    error ContributionsNotStrictlyIncreasing(uint256 index);
    error NothingFunded();
    error AmountTooLarge(uint256 amount);
    error ConsumerScoreTooLow(bytes32 consumerId, uint256 required);
    error UnknownRound(uint256 roundId);
    error RoundNotOpen(uint256 roundId);
    error NotTheRoundValuer(uint256 roundId, address account);
    error WrongWeightCount(uint256 given, uint256 expected);
    error WeightTooLarge(uint256 index, uint256 weight);
    error ValuationPeriodNotOver(uint256 roundId, uint256 endsAt);
    error NothingOwed(address account);
    error Reentrancy();
    error TransferFailed(address to, uint256 amount);

    // -- modifiers ----------------------------------------------------------------------------

    modifier onlyGovernance() {
        if (msg.sender != governance) revert NotGovernance(msg.sender);
        _;
    }

    /// One call at a time through the paying functions (EIP-1153 transient lock).
    modifier nonReentrant() {
        if (_locked) revert Reentrancy();
        _locked = true;
        _;
        _locked = false;
    }

    constructor(address autoId_, address autoScore_, address governance_) {
        if (autoId_ == address(0) || autoScore_ == address(0) || governance_ == address(0)) revert ZeroAddress();
        autoId = autoId_;
        autoScore = autoScore_;
        governance = governance_;
    }

    // -- contributions ------------------------------------------------------------------------

    /// @notice Register a contribution for Auto ID `contributorId` (the caller must be one of its
    ///         controllers). The caller becomes the payee. `minConsumerScore` (0–100, 0 = none)
    ///         is the Auto Score a consumer must meet to list it in a round.
    function registerContribution(bytes32 contributorId, bytes32 contentHash, bytes32 license,
                                  bytes32 metadataHash, uint8 minConsumerScore)
        external returns (uint256 contributionId)
    {
        _requireController(contributorId);
        if (contentHash == bytes32(0)) revert EmptyContentHash();
        uint256 existing = contributionOfContent[contentHash];
        if (existing != 0) revert ContentAlreadyRegistered(contentHash, existing);
        if (minConsumerScore > MAX_SCORE) revert ScoreAboveMaximum(minConsumerScore, MAX_SCORE);
        uint8 required = minContributorScore;
        if (required != 0 && !IDataAutoScore(autoScore).meets(contributorId, required)) {
            revert ContributorScoreTooLow(contributorId, required);
        }
        contributionId = ++contributionCount;
        _contributions[contributionId] = Contribution({
            contributorId: contributorId, contentHash: contentHash, license: license,
            metadataHash: metadataHash, payee: msg.sender, registeredAt: uint64(block.timestamp),
            minConsumerScore: minConsumerScore, consent: true});
        contributionOfContent[contentHash] = contributionId;
        emit ContributionRegistered(contributionId, contributorId, contentHash, license, metadataHash,
                                    minConsumerScore, msg.sender);
    }

    /// @notice Send this contribution's future shares to `payee` (a controller of its Auto ID only).
    function setPayee(uint256 contributionId, address payee) external {
        Contribution storage c = _existing(contributionId);
        _requireController(c.contributorId);
        if (payee == address(0)) revert ZeroAddress();
        c.payee = payee;
        emit PayeeChanged(contributionId, payee);
    }

    /// @notice Withdraw consent for future use: the contribution can no longer be listed in new
    ///         rounds. Rounds funded before keep paying it.
    function withdrawConsent(uint256 contributionId) external {
        Contribution storage c = _existing(contributionId);
        _requireController(c.contributorId);
        if (!c.consent) revert ConsentAlreadyWithdrawn(contributionId);
        c.consent = false;
        emit ConsentWithdrawn(contributionId, c.contributorId);
    }

    /// @notice Give consent again after withdrawing it.
    function restoreConsent(uint256 contributionId) external {
        Contribution storage c = _existing(contributionId);
        _requireController(c.contributorId);
        if (c.consent) revert ConsentNotWithdrawn(contributionId);
        c.consent = true;
        emit ConsentRestored(contributionId, c.contributorId);
    }

    // -- rounds -------------------------------------------------------------------------------

    /// @notice Fund a training or usage round with `msg.value`, to be valued by `valuer`, over
    ///         `contributionIds` (strictly increasing, each with consent). When a listed
    ///         contribution has a score gate, `consumerId` must be an Auto ID the caller controls
    ///         whose Auto Score meets the highest gate; otherwise it is recorded as given.
    function fundRound(bytes32 consumerId, address valuer, uint256[] calldata contributionIds)
        external payable returns (uint256 roundId)
    {
        if (!isValuer[valuer]) revert NotAValuer(valuer);
        uint256 n = contributionIds.length;
        if (n == 0) revert EmptyRound();
        if (n > MAX_ROUND_CONTRIBUTIONS) revert TooManyContributions(n, MAX_ROUND_CONTRIBUTIONS);
        if (msg.value == 0) revert NothingFunded();
        if (msg.value > type(uint128).max) revert AmountTooLarge(msg.value);

        roundId = ++roundCount;
        uint256 gate = 0;
        uint256 previous = 0;
        for (uint256 i = 0; i < n; ++i) {
            uint256 id = contributionIds[i];
            if (id <= previous) revert ContributionsNotStrictlyIncreasing(i);
            previous = id;
            Contribution storage c = _existing(id);
            if (!c.consent) revert NoConsent(id);
            if (c.minConsumerScore > gate) gate = c.minConsumerScore;
            emit ContributionUsed(roundId, id);
        }
        if (gate != 0) {
            _requireController(consumerId);
            if (!IDataAutoScore(autoScore).meets(consumerId, gate)) revert ConsumerScoreTooLow(consumerId, gate);
        }
        _rounds[roundId] = Round({
            funder: msg.sender, valuer: valuer, consumerId: consumerId, amount: uint128(msg.value),
            fundedAt: uint64(block.timestamp), status: RoundStatus.Funded, totalWeight: 0, dust: 0});
        _roundContributions[roundId] = contributionIds;
        emit RoundFunded(roundId, msg.sender, valuer, consumerId, msg.value, contributionIds);
    }

    /// @notice The round's valuer posts one weight per listed contribution, in listing order
    ///         (each below 2**128), and so finalizes the round: each payee is credited
    ///         floor(amount * weight / totalWeight) and the funder the remaining dust.
    function postWeights(uint256 roundId, uint256[] calldata weights) external {
        Round storage r = _open(roundId);
        if (msg.sender != r.valuer || !isValuer[msg.sender]) revert NotTheRoundValuer(roundId, msg.sender);
        uint256[] storage listed = _roundContributions[roundId];
        uint256 n = listed.length;
        if (weights.length != n) revert WrongWeightCount(weights.length, n);

        uint256 total = 0;
        for (uint256 i = 0; i < n; ++i) {
            if (weights[i] > type(uint128).max) revert WeightTooLarge(i, weights[i]);
            total += weights[i]; // at most 256 * 2**128: no overflow
        }
        uint256 amount = r.amount;
        uint256 paid = 0;
        for (uint256 i = 0; i < n; ++i) {
            // amount, weight < 2**128: the product is exact; every weight 0 pays nothing
            uint256 share = total == 0 ? 0 : amount * weights[i] / total;
            uint256 id = listed[i];
            address payee = _contributions[id].payee;
            if (share != 0) {
                owed[payee] += share;
                paid += share;
            }
            emit ShareCredited(roundId, id, payee, weights[i], share);
        }
        uint256 dust = amount - paid; // < n wei, or the whole amount when every weight is 0
        r.status = RoundStatus.Valued;
        r.totalWeight = total;
        r.dust = dust;
        if (dust != 0) owed[r.funder] += dust;
        emit RoundValued(roundId, msg.sender, total, dust);
    }

    /// @notice Give a round's funds back to its funder when it was not valued within
    ///         VALUATION_PERIOD of funding (anyone may call; the funder withdraws).
    function refundRound(uint256 roundId) external {
        Round storage r = _open(roundId);
        uint256 endsAt = uint256(r.fundedAt) + VALUATION_PERIOD;
        if (block.timestamp < endsAt) revert ValuationPeriodNotOver(roundId, endsAt);
        r.status = RoundStatus.Refunded;
        owed[r.funder] += r.amount;
        emit RoundRefunded(roundId, r.funder, r.amount);
    }

    /// @notice Send the caller everything it is owed (shares, dust, refunds).
    function withdraw() external nonReentrant returns (uint256 amount) {
        amount = owed[msg.sender];
        if (amount == 0) revert NothingOwed(msg.sender);
        owed[msg.sender] = 0; // effects before the interaction
        (bool ok,) = payable(msg.sender).call{value: amount}("");
        if (!ok) revert TransferFailed(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    // -- governance ---------------------------------------------------------------------------

    /// @notice Admit (or dismiss) a valuer. A dismissed valuer can no longer value its open rounds.
    function setValuer(address valuer, bool admitted) external onlyGovernance {
        if (valuer == address(0)) revert ZeroAddress();
        isValuer[valuer] = admitted;
        emit ValuerSet(valuer, admitted);
    }

    /// @notice Require contributors' Auto IDs to meet this Auto Score to register (0 = no check).
    function setMinContributorScore(uint8 score) external onlyGovernance {
        if (score > MAX_SCORE) revert ScoreAboveMaximum(score, MAX_SCORE);
        minContributorScore = score;
        emit MinContributorScoreSet(score);
    }

    function transferGovernance(address next) external onlyGovernance {
        if (next == address(0)) revert ZeroAddress();
        emit GovernanceTransferred(governance, next);
        governance = next;
    }

    // -- views --------------------------------------------------------------------------------

    function getContribution(uint256 contributionId) external view returns (Contribution memory) {
        return _existing(contributionId);
    }

    /// @notice Whether the contribution exists and may be listed in a new round.
    function isUsable(uint256 contributionId) external view returns (bool) {
        return _contributions[contributionId].consent;
    }

    function getRound(uint256 roundId) external view returns (Round memory) {
        Round memory r = _rounds[roundId];
        if (r.status == RoundStatus.None) revert UnknownRound(roundId);
        return r;
    }

    function roundContributions(uint256 roundId) external view returns (uint256[] memory) {
        return _roundContributions[roundId];
    }

    // -- internals ----------------------------------------------------------------------------

    function _requireController(bytes32 id) private view {
        if (!IDataAutoId(autoId).isController(id, msg.sender)) revert NotController(id, msg.sender);
    }

    function _existing(uint256 contributionId) private view returns (Contribution storage c) {
        c = _contributions[contributionId];
        if (c.registeredAt == 0) revert UnknownContribution(contributionId);
    }

    function _open(uint256 roundId) private view returns (Round storage r) {
        r = _rounds[roundId];
        if (r.status == RoundStatus.None) revert UnknownRound(roundId);
        if (r.status != RoundStatus.Funded) revert RoundNotOpen(roundId);
    }
}
